"""The one directory search: services of a KIND near a place, nearest first. The bot's action, the
`navigator search` command and the advocate console all call `search_services`.

Only services with HSDS status `active` are ever returned, and only at locations with coordinates:
the search reads the derived `search_point` table (resources.search.index), which holds nothing
else. Candidates come from its (kind, latitude, longitude) index: a bounding box, widened step by
step (RADIUS_STEPS_KM, up to MAX_RADIUS_KM) until enough are found, ordered by an approximate
distance in SQL and fetched a few at a time, so a search never loads the directory into Python
whatever its size. Exact great-circle distances, the "open now" check and the details (phones, hours,
addresses) are computed for those few rows only.

Filters (keyword-only): `open_now` (weekly hours in the location's own time zone; 24-hour services),
`language` (ISO code or name), `age`, `tags` (resources.taxonomy.service_tags: takes_pets, trafficking, ...),
`radius_km`. A street address is never shown for a confidential location (resources.search.confidentiality).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from datetime import timezone as dt_timezone
from functools import lru_cache
from typing import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, exists, or_, select
from sqlalchemy.orm import Session, aliased

from resources.models import Address, Language, Location, Organization, Phone, Schedule, SearchPoint, Service
from resources.places.gazetteer import Place
from resources.places.geocode import geocode
from resources.search.confidentiality import ConfidentialityRules, decide_hidden, services_at, tags_to_check
from resources.search.hours import ScheduleRow, describe_hours, open_at
from resources.search.index import PLAIN, cells_for_box, language_facet, tag_facet
from resources.taxonomy.kinds import UnknownKindError, known_tags, normalize_kind
from resources.taxonomy.languages import language_table
from resources.taxonomy.service_tags import ATTRIBUTE_TAGS, FOCUS_TAGS

__all__ = ["search_services", "search_near", "resolve_place", "ServiceResult", "SearchError",
           "UnknownKindError", "UnknownPlaceError", "RADIUS_STEPS_KM", "MAX_RADIUS_KM", "LARGEST_RADIUS_KM"]

RADIUS_STEPS_KM = (10, 40, 150, 400)
MAX_RADIUS_KM = RADIUS_STEPS_KM[-1]  # how far a search looks unless asked otherwise
LARGEST_RADIUS_KM = 1000  # the most `radius_km` may ask for
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
CALLABLE_PHONE_TYPES = {"voice": 0, "cell": 1, None: 2, "": 2}  # lower is better; fax, text, pager never
SHOWN_TAGS = set(ATTRIBUTE_TAGS) | set(FOCUS_TAGS)


class SearchError(ValueError):
    """A search that cannot be run as asked (its message can be shown to the person)."""


class UnknownPlaceError(SearchError):
    """The text names no place the gazetteer knows."""


# UnknownKindError (from resources.taxonomy.kinds) is a ValueError too; callers may catch either.


@dataclass
class ServiceResult:
    service_id: str
    name: str
    organization_name: str | None
    phone: str | None  # best number to call, as written in the directory
    distance_km: float
    hours: str | None
    address: str | None  # None for a confidential location (resources.search.confidentiality)
    is_demo: bool
    kind: str
    url: str | None = None
    fees: str | None = None
    languages: list[str] = field(default_factory=list)
    confidential_location: bool = False
    open_now: bool | None = None  # None: its hours are unknown or given only in words
    tags: list[str] = field(default_factory=list)  # survivor-relevant tags (resources.taxonomy.service_tags)
    minimum_age: int | None = None
    maximum_age: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Filters:
    open_now: bool
    now: datetime
    language: str | None
    age: int | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class _Hit:
    distance: float
    service_id: str
    location_id: str
    sal_id: str | None
    timezone: str | None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _box(lat: float, lon: float, radius_km: float) -> tuple[dict, bool]:
    """The latitude/longitude box around a circle, as bind values, and whether it wraps around the
    antimeridian (then longitude is "at least lon_lo OR at most lon_hi")."""
    dlat = radius_km / KM_PER_DEGREE
    lat_lo, lat_hi = max(lat - dlat, -90.0), min(lat + dlat, 90.0)
    cos_lat = math.cos(math.radians(lat))
    if lat - dlat <= -90 or lat + dlat >= 90 or cos_lat < 1e-6 or radius_km / (KM_PER_DEGREE * cos_lat) >= 180:
        return {"lat_lo": lat_lo, "lat_hi": lat_hi, "lon_lo": -180.0, "lon_hi": 180.0}, False
    dlon = radius_km / (KM_PER_DEGREE * cos_lat)
    lon_lo, lon_hi = lon - dlon, lon + dlon
    if lon_lo < -180:
        return {"lat_lo": lat_lo, "lat_hi": lat_hi, "lon_lo": lon_lo + 360, "lon_hi": lon_hi}, True
    if lon_hi > 180:
        return {"lat_lo": lat_lo, "lat_hi": lat_hi, "lon_lo": lon_lo, "lon_hi": lon_hi - 360}, True
    return {"lat_lo": lat_lo, "lat_hi": lat_hi, "lon_lo": lon_lo, "lon_hi": lon_hi}, False


@lru_cache(maxsize=64)
def _candidates(wraps: bool, cells: bool, tag_count: int, language: bool, age: bool):
    """The index query for one shape of search, built once: statements are reused with new values,
    so SQLAlchemy compiles each shape once instead of on every search.

    The index is read on one facet (the plain rows, or those of the first tag or the language asked
    for); any further tag, or the language when a tag took the facet, is checked row by row.
    """
    sp = SearchPoint
    lon_clause = (or_(sp.longitude >= bindparam("lon_lo"), sp.longitude <= bindparam("lon_hi")) if wraps
                  else sp.longitude.between(bindparam("lon_lo"), bindparam("lon_hi")))
    clauses = [sp.kind == bindparam("kind"), sp.facet == bindparam("facet"),
               sp.latitude.between(bindparam("lat_lo"), bindparam("lat_hi")), lon_clause]
    if cells:
        clauses.append(sp.cell.in_(bindparam("cells", expanding=True)))
    if age:
        clauses += [or_(sp.minimum_age.is_(None), sp.minimum_age <= bindparam("age")),
                    or_(sp.maximum_age.is_(None), sp.maximum_age >= bindparam("age"))]
    other = aliased(SearchPoint)
    for i in range(1, tag_count):
        clauses.append(exists().where(other.service_id == sp.service_id, other.location_id == sp.location_id,
                                      other.kind == sp.kind, other.facet == bindparam(f"facet{i}")))
    if language and tag_count:
        clauses.append(exists().where(other.service_id == sp.service_id, other.location_id == sp.location_id,
                                      other.kind == sp.kind, other.facet == bindparam("lang_facet")))
    dlon = sp.longitude - bindparam("lon0")
    if wraps:
        dlon = case((dlon > 180, dlon - 360), (dlon < -180, dlon + 360), else_=dlon)
    dlat = sp.latitude - bindparam("lat0")
    approx = dlat * dlat + (dlon * bindparam("scale")) * (dlon * bindparam("scale"))  # squared degrees
    return (select(sp.service_id, sp.location_id, sp.service_at_location_id, sp.latitude, sp.longitude, sp.timezone)
            .where(*clauses).order_by(approx, sp.service_id, sp.location_id)
            .limit(bindparam("limit")).offset(bindparam("offset")))


def _make_filters(open_now: bool, now: datetime | None, language: str | None, age: int | None,
                  tags: Iterable[str]) -> _Filters:
    code = None
    if language:
        found = language_table().lookup(language)
        if found is None:
            raise SearchError(f"unknown language {language!r}: give a name (Spanish) or an ISO code (es)")
        code = found.code
    if age is not None and not 0 <= age <= 120:
        raise SearchError("age must be between 0 and 120")
    tags = tuple(dict.fromkeys(t.strip().lower() for t in tags if t and t.strip()))
    unknown = [t for t in tags if t not in known_tags()]
    if unknown:
        raise SearchError(f"unknown tag {unknown[0]!r}: use one of {', '.join(sorted(SHOWN_TAGS))}")
    now = now or datetime.now(dt_timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt_timezone.utc)
    return _Filters(bool(open_now), now, code, age, tags)


def _nearest(session: Session, kind: str, place: Place, radius_km: float, need: int,
             filters: _Filters) -> list[_Hit]:
    """Up to `need` (and a few more) active services of `kind` within the radius, nearest location
    per service, nearest first; read from the index in small batches ordered by distance."""
    box, wraps = _box(place.lat, place.lon, radius_km)
    cells = cells_for_box(box["lat_lo"], box["lat_hi"], box["lon_lo"], box["lon_hi"], wraps)
    query = _candidates(wraps, cells is not None, len(filters.tags), bool(filters.language), filters.age is not None)
    facets = [tag_facet(t) for t in filters.tags] or ([language_facet(filters.language)] if filters.language else [PLAIN])
    values = {**box, "cells": cells, "kind": kind, "lat0": place.lat, "lon0": place.lon,
              "scale": max(math.cos(math.radians(place.lat)), 1e-6), "age": filters.age, "facet": facets[0],
              "lang_facet": language_facet(filters.language or ""), **{f"facet{i}": f for i, f in enumerate(facets)}}
    best: dict[str, _Hit] = {}
    batch, fetched = need * 2 + 8, 0
    while True:
        rows = session.execute(query, {**values, "limit": batch, "offset": fetched}).all()
        fetched += len(rows)
        candidates = []
        for r in rows:
            d = haversine_km(place.lat, place.lon, r.latitude, r.longitude)
            if d <= radius_km and r.service_id not in best:
                candidates.append(_Hit(d, r.service_id, r.location_id, r.service_at_location_id, r.timezone))
        if filters.open_now:
            states = _open_states(session, candidates, filters.now)
            candidates = [h for h in candidates if states.get((h.service_id, h.location_id)) is True]
        for hit in candidates:
            if hit.service_id not in best or hit.distance < best[hit.service_id].distance:
                best[hit.service_id] = hit
        if len(rows) < batch or len(best) >= need + 2:
            break
        batch = min(batch * 2, 2000)
    return sorted(best.values(), key=lambda h: (h.distance, h.service_id))


def search_services(session: Session, kind: str, place: Place | None, limit: int = 3, offset: int = 0, *,
                    radius_km: float | None = None, open_now: bool = False, now: datetime | None = None,
                    language: str | None = None, age: int | None = None,
                    tags: Iterable[str] = ()) -> list[ServiceResult]:
    """Active services of `kind` nearest to `place`, nearest first, `limit` from `offset` on.

    `place` None returns [] (callers then offer `national_lines(kind)`). An unknown kind raises
    UnknownKindError; an unknown language or tag, or an impossible age, SearchError. `radius_km`
    (default MAX_RADIUS_KM) bounds the distance; `open_now` keeps services open at `now` (default:
    this moment) in their own time zone; `language` keeps services that list that language (English
    also matches services that list none); `age` keeps services whose age limits include it; every
    tag in `tags` must be on the service.
    """
    kind = normalize_kind(kind)
    filters = _make_filters(open_now, now, language, age, tags)
    if place is None or limit <= 0:
        return []
    if radius_km is not None and not 0 < radius_km <= LARGEST_RADIUS_KM:
        raise SearchError(f"radius must be between 0 and {LARGEST_RADIUS_KM} km")
    largest = radius_km or MAX_RADIUS_KM
    offset = max(offset, 0)
    hits: list[_Hit] = []
    for radius in [r for r in RADIUS_STEPS_KM if r < largest] + [largest]:
        hits = _nearest(session, kind, place, radius, offset + limit, filters)
        if len(hits) >= offset + limit:
            break
    return _describe(session, kind, hits[offset:offset + limit], filters.now)


def resolve_place(near_text: str) -> Place:
    """The place a person's text names; raises UnknownPlaceError when it names none."""
    place = geocode(near_text or "")
    if place is None:
        raise UnknownPlaceError(f"unknown place {near_text!r}: give a US ZIP code, a city, or \"city, state\"")
    return place


def search_near(session: Session, kind: str, near_text: str, limit: int = 3, offset: int = 0,
                **filters) -> list[ServiceResult]:
    """`search_services` near a place given as text ("83702", "Boise", "Omaha, NE").

    Raises UnknownKindError, UnknownPlaceError or SearchError (all ValueErrors) with a message fit to show.
    """
    kind = normalize_kind(kind)
    return search_services(session, kind, resolve_place(near_text), limit, offset, **filters)


# --- open now -------------------------------------------------------------------------------------

def _local(now: datetime, tz_name: str | None) -> datetime:
    try:
        return now.astimezone(ZoneInfo(tz_name)) if tz_name else now
    except (KeyError, ValueError, OSError):  # unknown zone name, or no tz database on this server
        return now


def _ids(name: str):
    return bindparam(name, expanding=True)


def _rows_for(schedules, sid: str, sal: str | None, lid: str) -> list[ScheduleRow]:
    """The schedule of the most specific owner that has one: service-at-location, service, location."""
    return (schedules.get(("service_at_location", sal)) or schedules.get(("service", sid))
            or schedules.get(("location", lid)) or [])


def _open_states(session: Session, hits: list[_Hit], now: datetime) -> dict[tuple[str, str], bool | None]:
    if not hits:
        return {}
    schedules = _schedules(session, [h.service_id for h in hits], [h.sal_id for h in hits if h.sal_id],
                           [h.location_id for h in hits])
    return {(h.service_id, h.location_id): open_at(_rows_for(schedules, h.service_id, h.sal_id, h.location_id),
                                                   _local(now, h.timezone)) for h in hits}


# --- turning hits into results --------------------------------------------------------------------

_SERVICES = (select(Service.id, Service.name, Service.url, Service.fees_description, Service.is_demo, Service.status,
                    Service.organization_id, Service.minimum_age, Service.maximum_age,
                    Organization.name.label("org_name"), Organization.website)
             .outerjoin(Organization, Organization.id == Service.organization_id)
             .where(Service.id.in_(_ids("sids"))))
_PHONES = (select(Phone.id, Phone.number, Phone.extension, Phone.type, Phone.service_id, Phone.service_at_location_id,
                  Phone.location_id, Phone.organization_id)
           .where(or_(Phone.service_id.in_(_ids("sids")), Phone.service_at_location_id.in_(_ids("sal_ids")),
                      Phone.location_id.in_(_ids("lids")), Phone.organization_id.in_(_ids("org_ids")))))
_SCHEDULES = (select(Schedule.description, Schedule.freq, Schedule.byday, Schedule.opens_at, Schedule.closes_at,
                     Schedule.valid_from, Schedule.valid_to, Schedule.notes, Schedule.service_at_location_id,
                     Schedule.service_id, Schedule.location_id)
              .where(or_(Schedule.service_id.in_(_ids("sids")), Schedule.service_at_location_id.in_(_ids("sal_ids")),
                         Schedule.location_id.in_(_ids("lids"))))
              .order_by(Schedule.id))
_LOCATIONS = (select(Location.id.label("location_id"), Location.name, Location.description, Address.id,
                     Address.address_1, Address.address_2, Address.city, Address.state_province, Address.postal_code,
                     Address.address_type)
              .outerjoin(Address, Address.location_id == Location.id).where(Location.id.in_(_ids("lids"))))
_LANGUAGES = (select(Language.service_id, Language.location_id, Language.name, Language.code)
              .where(or_(Language.service_id.in_(_ids("sids")), Language.location_id.in_(_ids("lids"))))
              .order_by(Language.id))


def _describe(session: Session, kind: str, hits: list[_Hit], now: datetime) -> list[ServiceResult]:
    if not hits:
        return []
    service_ids = [h.service_id for h in hits]
    services = {r.id: r for r in session.execute(_SERVICES, {"sids": service_ids})}
    hits = [h for h in hits if h.service_id in services and services[h.service_id].status == "active"]
    sal_ids = [h.sal_id for h in hits if h.sal_id]
    location_ids = sorted({h.location_id for h in hits})
    org_ids = sorted({s.organization_id for s in services.values() if s.organization_id})
    phones = _phones(session, service_ids, sal_ids, location_ids, org_ids)
    schedules = _schedules(session, service_ids, sal_ids, location_ids)
    addresses, location_texts = _locations(session, location_ids)
    languages = _languages(session, service_ids, location_ids)
    rules = ConfidentialityRules.from_env()
    at = services_at(session, location_ids, sorted(SHOWN_TAGS | set(tags_to_check(rules))), rules)
    hidden = decide_hidden(at, location_texts, rules)
    tags = {s.service_id: sorted(s.tags & SHOWN_TAGS) for s in at}
    results = []
    for h in hits:
        s = services[h.service_id]
        secret = h.location_id in hidden
        rows = _rows_for(schedules, h.service_id, h.sal_id, h.location_id)
        results.append(ServiceResult(
            service_id=h.service_id,
            name=s.name,
            organization_name=s.org_name,
            phone=_pick_phone(phones, [("service", h.service_id), ("service_at_location", h.sal_id),
                                       ("location", h.location_id), ("organization", s.organization_id)]),
            # A confidential location's distance is given to the whole km, so repeated searches from
            # different ZIP codes cannot triangulate its address.
            distance_km=float(round(h.distance)) if secret else round(h.distance, 1),
            hours=describe_hours(rows),
            address=None if secret else addresses.get(h.location_id),
            is_demo=bool(s.is_demo),
            kind=kind,
            url=s.url or s.website,
            fees=s.fees_description,
            languages=languages.get(("service", h.service_id)) or languages.get(("location", h.location_id)) or [],
            confidential_location=secret,
            open_now=open_at(rows, _local(now, h.timezone)),
            tags=tags.get(h.service_id, []),
            minimum_age=s.minimum_age,
            maximum_age=s.maximum_age,
        ))
    return results


def _phones(session, service_ids, sal_ids, location_ids, org_ids) -> dict[tuple[str, str], list[tuple[int, str, str]]]:
    """(owner table, owner id) -> [(rank, phone id, formatted number)]: callable phones only."""
    rows = session.execute(_PHONES, {"sids": service_ids, "sal_ids": sal_ids, "lids": location_ids, "org_ids": org_ids})
    owners: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for r in rows:
        rank = CALLABLE_PHONE_TYPES.get((r.type or "").lower())
        if rank is None or not r.number:
            continue
        number = r.number + (f" ext. {r.extension}" if r.extension else "")
        for table, owner in (("service", r.service_id), ("service_at_location", r.service_at_location_id),
                             ("location", r.location_id), ("organization", r.organization_id)):
            if owner:
                owners.setdefault((table, owner), []).append((rank, r.id, number))
    return owners


def _pick_phone(phones, owners: list[tuple[str, str | None]]) -> str | None:
    """The best voice number of the most specific owner that has one (service first)."""
    for table, owner in owners:
        if owner and phones.get((table, owner)):
            return min(phones[(table, owner)])[2]
    return None


def _schedules(session, service_ids, sal_ids, location_ids) -> dict[tuple[str, str], list[ScheduleRow]]:
    out: dict[tuple[str, str], list[ScheduleRow]] = {}
    for r in session.execute(_SCHEDULES, {"sids": list(service_ids), "sal_ids": list(sal_ids),
                                          "lids": list(location_ids)}):
        row = ScheduleRow(r.description, r.freq, r.byday, r.opens_at, r.closes_at, r.valid_from, r.valid_to, r.notes)
        # The most specific owner only: a service-at-location row is not also the service's.
        if r.service_at_location_id:
            out.setdefault(("service_at_location", r.service_at_location_id), []).append(row)
        elif r.service_id:
            out.setdefault(("service", r.service_id), []).append(row)
        elif r.location_id:
            out.setdefault(("location", r.location_id), []).append(row)
    return out


def _locations(session, location_ids) -> tuple[dict[str, str], dict[str, list[str | None]]]:
    """(location id -> one-line address, preferring the physical one; location id -> its name,
    description and address lines, for the confidentiality rules)."""
    order = {"physical": 0, None: 1, "": 1, "postal": 2}
    best: dict[str, tuple[int, str, str]] = {}
    texts: dict[str, list[str | None]] = {}
    for a in session.execute(_LOCATIONS, {"lids": list(location_ids)}):
        texts.setdefault(a.location_id, [a.name, a.description]).extend((a.address_1, a.address_2))
        text = format_address(a) if a.id else None
        rank = order.get((a.address_type or "").lower(), 3)
        if text and (a.location_id not in best or (rank, a.id) < best[a.location_id][:2]):
            best[a.location_id] = (rank, a.id, text)
    return {lid: v[2] for lid, v in best.items()}, texts


def format_address(a) -> str | None:
    """"100 Main Street, Suite 2, Boise, ID 83702"."""
    state_zip = " ".join(p for p in (a.state_province, a.postal_code) if p)
    parts = [p for p in (a.address_1, a.address_2, a.city, state_zip) if p]
    return ", ".join(parts) or None


def _languages(session, service_ids, location_ids) -> dict[tuple[str, str], list[str]]:
    rows = session.execute(_LANGUAGES, {"sids": list(service_ids), "lids": list(location_ids)}).all()
    out: dict[tuple[str, str], list[str]] = {}
    for sid, lid, name, code in rows:
        label = name or code
        key = ("service", sid) if sid else ("location", lid)
        if label and label not in out.setdefault(key, []):
            out[key].append(label)
    for labels in out.values():
        labels.sort(key=lambda name: (name.lower() != "english", name.lower()))
    return out
