"""The one directory search: services of a KIND near a place, nearest first. The bot's action, the
`navigator search` command and the advocate console all call `search_services`.

Only services with HSDS status `active` are ever returned, and only at locations with coordinates.
Candidates come from SQL with a bounding box on the indexed latitude/longitude, widened step by step
(RADIUS_STEPS_KM, up to MAX_RADIUS_KM = 400 km) until enough are found; exact great-circle distances
are computed only for the rows inside the box, so the directory is never loaded whole.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from resources.geocode import geocode
from resources.gazetteer import Place
from resources.hours import ScheduleRow, describe_hours
from resources.kinds import CONFIDENTIAL_TAG, UnknownKindError, normalize_kind
from resources.models import (Address, Language, Location, Organization, Phone, Schedule, Service,
                              ServiceAtLocation, ServiceKind, ServiceTag)

__all__ = ["search_services", "search_near", "resolve_place", "ServiceResult", "SearchError",
           "UnknownKindError", "UnknownPlaceError", "RADIUS_STEPS_KM", "MAX_RADIUS_KM"]

RADIUS_STEPS_KM = (25, 50, 100, 200, 400)
MAX_RADIUS_KM = RADIUS_STEPS_KM[-1]
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
CALLABLE_PHONE_TYPES = {"voice": 0, "cell": 1, None: 2, "": 2}  # lower is better; fax, text, pager never


class SearchError(ValueError):
    """A search that cannot be run as asked (its message can be shown to the person)."""


class UnknownPlaceError(SearchError):
    """The text names no place the gazetteer knows."""


# UnknownKindError (from resources.kinds) is a ValueError too; callers may catch either.


@dataclass
class ServiceResult:
    service_id: str
    name: str
    organization_name: str | None
    phone: str | None  # best number to call, as written in the directory
    distance_km: float
    hours: str | None
    address: str | None  # None for a confidential location (see `_confidential`)
    is_demo: bool
    kind: str
    url: str | None = None
    fees: str | None = None
    languages: list[str] = field(default_factory=list)
    confidential_location: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _box_clause(lat: float, lon: float, radius_km: float):
    """SQL condition for the latitude/longitude box around a circle, across the antimeridian too."""
    dlat = radius_km / KM_PER_DEGREE
    lat_lo, lat_hi = lat - dlat, lat + dlat
    lat_clause = Location.latitude.between(max(lat_lo, -90.0), min(lat_hi, 90.0))
    cos_lat = math.cos(math.radians(lat))
    if lat_lo <= -90 or lat_hi >= 90 or cos_lat < 1e-6:
        return and_(lat_clause, Location.longitude.isnot(None))
    dlon = radius_km / (KM_PER_DEGREE * cos_lat)
    if dlon >= 180:
        return and_(lat_clause, Location.longitude.isnot(None))
    lon_lo, lon_hi = lon - dlon, lon + dlon
    if lon_lo < -180:
        lon_clause = or_(Location.longitude >= lon_lo + 360, Location.longitude <= lon_hi)
    elif lon_hi > 180:
        lon_clause = or_(Location.longitude >= lon_lo, Location.longitude <= lon_hi - 360)
    else:
        lon_clause = Location.longitude.between(lon_lo, lon_hi)
    return and_(lat_clause, lon_clause)


def _nearest(session: Session, kind: str, place: Place, radius_km: float) -> list[tuple[float, str, str]]:
    """(distance, service id, location id) of active services of `kind` within the radius, nearest
    location per service, nearest first."""
    rows = session.execute(
        select(Service.id, Service.name, Location.id, Location.latitude, Location.longitude)
        .join(ServiceKind, and_(ServiceKind.service_id == Service.id, ServiceKind.kind == kind))
        .join(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
        .join(Location, Location.id == ServiceAtLocation.location_id)
        .where(Service.status == "active", _box_clause(place.lat, place.lon, radius_km))
    ).all()
    best: dict[str, tuple[float, str, str, str]] = {}
    for sid, name, lid, lat, lon in rows:
        d = haversine_km(place.lat, place.lon, lat, lon)
        if d <= radius_km and (sid not in best or (d, lid) < (best[sid][0], best[sid][3])):
            best[sid] = (d, name or "", sid, lid)
    return [(d, sid, lid) for d, _, sid, lid in sorted(best.values())]


def search_services(session: Session, kind: str, place: Place | None, limit: int = 3,
                    offset: int = 0) -> list[ServiceResult]:
    """Active services of `kind` nearest to `place` (within MAX_RADIUS_KM), nearest first.

    `place` None returns [] (the bot then offers national lines). An unknown kind raises
    UnknownKindError. `offset` pages on ("show me more").
    """
    kind = normalize_kind(kind)
    if place is None or limit <= 0:
        return []
    offset = max(offset, 0)
    hits: list[tuple[float, str, str]] = []
    for radius in RADIUS_STEPS_KM:
        hits = _nearest(session, kind, place, radius)
        if len(hits) >= offset + limit:
            break
    return _describe(session, kind, hits[offset:offset + limit])


def resolve_place(near_text: str) -> Place:
    """The place a person's text names; raises UnknownPlaceError when it names none."""
    place = geocode(near_text or "")
    if place is None:
        raise UnknownPlaceError(f"unknown place {near_text!r}: give a US ZIP code, a city, or \"city, state\"")
    return place


def search_near(session: Session, kind: str, near_text: str, limit: int = 3, offset: int = 0) -> list[ServiceResult]:
    """`search_services` near a place given as text ("83702", "Boise", "Omaha, NE").

    Raises UnknownKindError or UnknownPlaceError (both ValueErrors) with a message fit to show.
    """
    kind = normalize_kind(kind)
    return search_services(session, kind, resolve_place(near_text), limit, offset)


# --- turning hits into results --------------------------------------------------------------------

def _describe(session: Session, kind: str, hits: list[tuple[float, str, str]]) -> list[ServiceResult]:
    if not hits:
        return []
    service_ids = [sid for _, sid, _ in hits]
    location_of = {sid: lid for _, sid, lid in hits}
    services = {r.id: r for r in session.execute(
        select(Service.id, Service.name, Service.url, Service.fees_description, Service.is_demo,
               Service.organization_id, Organization.name.label("org_name"), Organization.website)
        .outerjoin(Organization, Organization.id == Service.organization_id)
        .where(Service.id.in_(service_ids))
    ).all()}
    sal_of = {(r.service_id, r.location_id): r.id for r in session.execute(
        select(ServiceAtLocation.id, ServiceAtLocation.service_id, ServiceAtLocation.location_id)
        .where(ServiceAtLocation.service_id.in_(service_ids))
    ).all()}
    sal_ids = [sal_of.get((sid, location_of[sid])) for sid in service_ids]
    location_ids = list(set(location_of.values()))
    org_ids = [s.organization_id for s in services.values() if s.organization_id]
    phones = _phones(session, service_ids, [s for s in sal_ids if s], location_ids, org_ids)
    schedules = _schedules(session, service_ids, [s for s in sal_ids if s], location_ids)
    addresses = _addresses(session, location_ids)
    languages = _languages(session, service_ids, location_ids)
    confidential = set(session.execute(
        select(ServiceTag.service_id).where(ServiceTag.service_id.in_(service_ids), ServiceTag.tag == CONFIDENTIAL_TAG)
    ).scalars())
    results = []
    for (distance, sid, lid), sal in zip(hits, sal_ids):
        s = services[sid]
        hidden = sid in confidential
        results.append(ServiceResult(
            service_id=sid,
            name=s.name,
            organization_name=s.org_name,
            phone=_pick_phone(phones, [("service", sid), ("service_at_location", sal), ("location", lid),
                                       ("organization", s.organization_id)]),
            # A confidential shelter's distance is given to the whole km, so repeated searches from
            # different ZIP codes cannot triangulate its address.
            distance_km=float(round(distance)) if hidden else round(distance, 1),
            hours=describe_hours(schedules.get(("service_at_location", sal))
                                 or schedules.get(("service", sid))
                                 or schedules.get(("location", lid)) or []),
            address=None if hidden else addresses.get(lid),
            is_demo=bool(s.is_demo),
            kind=kind,
            url=s.url or s.website,
            fees=s.fees_description,
            languages=languages.get(("service", sid)) or languages.get(("location", lid)) or [],
            confidential_location=hidden,
        ))
    return results


def _phones(session, service_ids, sal_ids, location_ids, org_ids) -> dict[tuple[str, str], list[tuple[int, str, str]]]:
    """(owner table, owner id) -> [(rank, phone id, formatted number)]: callable phones only."""
    rows = session.execute(
        select(Phone.id, Phone.number, Phone.extension, Phone.type, Phone.service_id, Phone.service_at_location_id,
               Phone.location_id, Phone.organization_id)
        .where(or_(Phone.service_id.in_(service_ids), Phone.service_at_location_id.in_(sal_ids),
                   Phone.location_id.in_(location_ids), Phone.organization_id.in_(org_ids)))
    ).all()
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
    rows = session.execute(
        select(Schedule).where(or_(Schedule.service_id.in_(service_ids), Schedule.service_at_location_id.in_(sal_ids),
                                   Schedule.location_id.in_(location_ids)))
        .order_by(Schedule.id)
    ).scalars().all()
    out: dict[tuple[str, str], list[ScheduleRow]] = {}
    for r in rows:
        row = ScheduleRow(r.description, r.freq, r.byday, r.opens_at, r.closes_at, r.valid_from, r.valid_to)
        # The most specific owner only: a service-at-location row is not also the service's.
        if r.service_at_location_id:
            out.setdefault(("service_at_location", r.service_at_location_id), []).append(row)
        elif r.service_id:
            out.setdefault(("service", r.service_id), []).append(row)
        elif r.location_id:
            out.setdefault(("location", r.location_id), []).append(row)
    return out


def _addresses(session, location_ids) -> dict[str, str]:
    """Location id -> one-line address, preferring the physical one."""
    rows = session.execute(select(Address).where(Address.location_id.in_(location_ids))).scalars().all()
    order = {"physical": 0, None: 1, "": 1, "postal": 2}
    best: dict[str, tuple[int, str, str]] = {}
    for a in rows:
        rank = order.get((a.address_type or "").lower(), 3)
        text = format_address(a)
        if text and (a.location_id not in best or (rank, a.id) < best[a.location_id][:2]):
            best[a.location_id] = (rank, a.id, text)
    return {lid: v[2] for lid, v in best.items()}


def format_address(a: Address) -> str | None:
    """"100 Main Street, Suite 2, Boise, ID 83702"."""
    state_zip = " ".join(p for p in (a.state_province, a.postal_code) if p)
    parts = [p for p in (a.address_1, a.address_2, a.city, state_zip) if p]
    return ", ".join(parts) or None


def _languages(session, service_ids, location_ids) -> dict[tuple[str, str], list[str]]:
    rows = session.execute(
        select(Language.service_id, Language.location_id, Language.name, Language.code)
        .where(or_(Language.service_id.in_(service_ids), Language.location_id.in_(location_ids)))
        .order_by(Language.id)
    ).all()
    out: dict[tuple[str, str], list[str]] = {}
    for sid, lid, name, code in rows:
        label = name or code
        key = ("service", sid) if sid else ("location", lid)
        if label and label not in out.setdefault(key, []):
            out[key].append(label)
    for labels in out.values():
        labels.sort(key=lambda name: (name.lower() != "english", name.lower()))
    return out
