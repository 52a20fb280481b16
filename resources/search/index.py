"""The search index (`search_point`): one row per active service, location with coordinates and KIND.

Kept so that a search reads one narrow table through one (kind, latitude, longitude) index instead of
joining services, locations and kinds for every row in a box. Every import refreshes the rows of the
services it touched (`refresh_search_points`), inside its transaction; `rebuild_search_index`
recomputes everything (after the kind or tag rules change: `navigator reindex`).

Each row also carries the service's age limits (the age filter) and the location's time zone (for
"open now"): the ZIP code of its address, else the nearest ZIP code in the gazetteer. Facet rows
repeat a service's plain row for each of its tags ("tag:takes_pets") and languages ("lang:es"; a
service that lists no language at all, for itself, its location or its phones, gets "lang:en": a US
directory names the languages other than English), so a filtered search reads only matching rows.
"""
from __future__ import annotations

import math
from typing import Iterable

from sqlalchemy import delete, event, func, insert, inspect, select, text
from sqlalchemy.engine import Connection

from infra.db import Base
from resources.models import (
    Address,
    Language,
    Location,
    Phone,
    SearchPoint,
    Service,
    ServiceAtLocation,
    ServiceKind,
    ServiceTag,
)
from resources.places.gazetteer import gazetteer
from resources.places.geocode import ZIP_RE, timezone_near
from resources.taxonomy.kinds import known_tags

_CHUNK = 500
PLAIN = ""  # the facet of every service's own row
MAX_CELLS = 400  # a box needing more grid cells (near a pole) is searched by latitude alone


def cell_of(lat: float, lon: float) -> int:
    """The whole-degree grid cell of a point: floor(lat) * 1000 + floor(lon)."""
    return math.floor(lat) * 1000 + math.floor((lon + 180) % 360 - 180)


def cells_for_box(lat_lo: float, lat_hi: float, lon_lo: float, lon_hi: float, wraps: bool) -> list[int] | None:
    """The grid cells a latitude/longitude box touches (lon_lo > lon_hi across the antimeridian when
    `wraps`), or None when there would be more than MAX_CELLS."""
    rows = range(math.floor(lat_lo), math.floor(lat_hi) + 1)
    if wraps:
        cols = list(range(math.floor(lon_lo), 180)) + list(range(-180, math.floor(lon_hi) + 1))
    else:
        cols = list(range(math.floor(lon_lo), min(math.floor(lon_hi), 179) + 1))
    if len(rows) * len(cols) > MAX_CELLS:
        return None
    return [r * 1000 + c for r in rows for c in cols]


def _chunks(items: list, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def location_timezones(conn: Connection, locations: dict[str, tuple[float, float]]) -> dict[str, str | None]:
    """Location id -> IANA time zone, from its address's ZIP code, else the nearest ZIP code."""
    zips: dict[str, str] = {}
    for chunk in _chunks(sorted(locations)):
        for lid, postal_code in conn.execute(
                select(Address.location_id, Address.postal_code).where(Address.location_id.in_(chunk))
                .order_by(Address.location_id, Address.address_type, Address.id)):
            match = ZIP_RE.search(postal_code or "")
            if match and lid not in zips:
                zips[lid] = match.group(1)
    gaz = gazetteer()
    out = {}
    for lid, (lat, lon) in locations.items():
        place = gaz.zip(zips[lid]) if lid in zips else None
        out[lid] = (place.timezone if place and place.timezone and "/" in place.timezone
                    else timezone_near(lat, lon))
    return out


def tag_facet(tag: str) -> str:
    return f"tag:{tag}"


def language_facet(code: str) -> str:
    return f"lang:{code}"


def _facets(conn: Connection, service_ids: list[str], location_ids: list[str]) -> tuple[dict, dict]:
    """(service id -> its facets, location id -> its language facets)."""
    by_service: dict[str, set[str]] = {}
    by_location: dict[str, set[str]] = {}
    searchable = known_tags()
    for sid, tag in conn.execute(select(ServiceTag.service_id, ServiceTag.tag).where(
            ServiceTag.service_id.in_(service_ids))):
        if tag in searchable:
            by_service.setdefault(sid, set()).add(tag_facet(tag))
    for sid, code in conn.execute(select(Language.service_id, Language.code).where(Language.service_id.in_(service_ids))):
        by_service.setdefault(sid, set()).add(language_facet(code) if code else "lang:?")
    for sid, code in conn.execute(select(Phone.service_id, Language.code).join(Phone, Phone.id == Language.phone_id)
                                  .where(Phone.service_id.in_(service_ids))):
        by_service.setdefault(sid, set()).add(language_facet(code) if code else "lang:?")
    for chunk in _chunks(location_ids):
        for lid, code in conn.execute(select(Language.location_id, Language.code)
                                      .where(Language.location_id.in_(chunk))):
            by_location.setdefault(lid, set()).add(language_facet(code) if code else "lang:?")
    return by_service, by_location


def refresh_search_points(conn: Connection, service_ids: Iterable[str], progress=None) -> int:
    """Recompute the search rows of these services (inside the caller's transaction); returns rows written."""
    written = 0
    ids = sorted(set(service_ids))
    for chunk in _chunks(ids):  # every old row before any new one (see kinds.refresh_service_kinds)
        conn.execute(delete(SearchPoint).where(SearchPoint.service_id.in_(chunk)))
    for chunk in _chunks(ids):
        rows = conn.execute(
            select(ServiceKind.service_id, ServiceKind.kind, ServiceAtLocation.location_id,
                   ServiceAtLocation.id.label("sal_id"), Location.latitude,
                   Location.longitude, Service.minimum_age, Service.maximum_age)
            .join(Service, Service.id == ServiceKind.service_id)
            .join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
            .join(Location, Location.id == ServiceAtLocation.location_id)
            .where(ServiceKind.service_id.in_(chunk), Service.status == "active",
                   Location.latitude.isnot(None), Location.longitude.isnot(None))
            .order_by(ServiceKind.service_id, ServiceAtLocation.location_id, ServiceAtLocation.id)
        ).all()
        zones = location_timezones(conn, {r.location_id: (r.latitude, r.longitude) for r in rows})
        service_facets, location_facets = _facets(conn, chunk, sorted({r.location_id for r in rows}))
        values, seen = [], set()
        for r in rows:
            key = (r.service_id, r.location_id, r.kind)
            if key in seen:  # two service_at_location rows for the same pair
                continue
            seen.add(key)
            point = {"service_id": r.service_id, "location_id": r.location_id, "kind": r.kind,
                     "service_at_location_id": r.sal_id, "cell": cell_of(r.latitude, r.longitude),
                     "latitude": r.latitude, "longitude": r.longitude, "minimum_age": r.minimum_age,
                     "maximum_age": r.maximum_age, "timezone": zones.get(r.location_id)}
            facets = service_facets.get(r.service_id, set()) | location_facets.get(r.location_id, set())
            if not any(f.startswith("lang:") for f in facets):
                facets.add(language_facet("en"))
            facets.discard("lang:?")
            values += [{**point, "facet": facet} for facet in (PLAIN, *sorted(facets))]
        if values:
            conn.execute(insert(SearchPoint), values)
            written += len(values)
        if progress is not None:
            progress.advance(len(chunk))
    return written


def rebuild_search_index(conn: Connection) -> int:
    """Recompute every search row from the directory's tables."""
    conn.execute(delete(SearchPoint))
    return refresh_search_points(conn, conn.execute(select(ServiceKind.service_id).distinct()).scalars().all())


def upgrade_search_index(conn: Connection) -> str | None:
    """Bring the search index of an existing database up to this version (it is derived data, so it
    is rebuilt rather than migrated); returns what was done, or None.

    Called whenever the schema is created (`_upgrade_on_create`). A table of another shape is dropped
    and created again; missing indexes are created; an empty index over a classified directory (one
    imported before the index existed) is built.
    """
    table = SearchPoint.__table__
    inspector = inspect(conn)
    if not inspector.has_table(table.name):
        return None
    done = None
    columns = {c["name"] for c in inspector.get_columns(table.name)}
    if columns != {c.name for c in table.columns}:
        table.drop(conn)
        table.create(conn)
        done = "recreated"
    else:
        present = {i["name"] for i in inspect(conn).get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(conn)
                done = "indexed"
        for name in present - {i.name for i in table.indexes}:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    if not conn.execute(select(func.count()).select_from(SearchPoint)).scalar_one() and \
            conn.execute(select(func.count()).select_from(ServiceKind)).scalar_one():
        rebuild_search_index(conn)
        done = "rebuilt"
    return done


@event.listens_for(Base.metadata, "after_create")
def _upgrade_on_create(target, connection, **kw) -> None:
    """Whenever the schema is created (every set-up, every CLI command that needs it, and
    resources.models.create_directory_tables), bring the derived search index up to date with this
    version: an agency's existing database must keep finding services after an upgrade, without a
    re-import. Registered here, by the module that owns the index, so the models need not import it."""
    upgrade_search_index(connection)
