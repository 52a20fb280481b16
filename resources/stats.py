"""Counts that tell an operator what the directory holds (`navigator stats`, the console): in total,
per KIND, per tag, and for each imported export (dataset)."""
from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from resources.models import Location, LocationGeocode, Organization, SearchPoint, Service, ServiceKind, ServiceTag
from resources.taxonomy.kinds import KINDS


def _kind_counts(session: Session, *where) -> dict[str, int]:
    counts = {k: 0 for k in KINDS}
    stmt = (select(ServiceKind.kind, func.count(distinct(ServiceKind.service_id)))
            .join(Service, Service.id == ServiceKind.service_id).where(*where).group_by(ServiceKind.kind))
    for kind, n in session.execute(stmt):
        if kind in counts:
            counts[kind] = n
    return counts


def dataset_stats(session: Session) -> dict[str, dict]:
    """For each export (the dataset name it was imported under; demo rows as "demo"): its counts."""
    def label(dataset, is_demo) -> str:
        return "demo" if is_demo else (dataset or "(unnamed)")

    out: dict[str, dict] = {}

    def entry(name: str) -> dict:
        return out.setdefault(name, {"organizations": 0, "services": 0, "active_services": 0, "locations": 0,
                                     "by_kind": {k: 0 for k in KINDS}})

    for model, key in ((Organization, "organizations"), (Service, "services"), (Location, "locations")):
        for dataset, is_demo, n in session.execute(
                select(model.dataset, model.is_demo, func.count()).group_by(model.dataset, model.is_demo)):
            entry(label(dataset, is_demo))[key] += n
    for dataset, is_demo, n in session.execute(
            select(Service.dataset, Service.is_demo, func.count()).where(Service.status == "active")
            .group_by(Service.dataset, Service.is_demo)):
        entry(label(dataset, is_demo))["active_services"] += n
    for dataset, is_demo, kind, n in session.execute(
            select(Service.dataset, Service.is_demo, ServiceKind.kind, func.count(distinct(ServiceKind.service_id)))
            .join(Service, Service.id == ServiceKind.service_id)
            .group_by(Service.dataset, Service.is_demo, ServiceKind.kind)):
        if kind in KINDS:
            entry(label(dataset, is_demo))["by_kind"][kind] += n
    return dict(sorted(out.items()))


def directory_stats(session: Session) -> dict:
    """Rows per table, services per KIND (all four KINDS always present) and per tag, and the same
    counts for each export.

    `by_kind` counts every service of that kind; `active_by_kind` only those search can show.
    """
    def count(stmt) -> int:
        return int(session.execute(stmt).scalar_one())

    by_tag = dict(session.execute(select(ServiceTag.tag, func.count(distinct(ServiceTag.service_id)))
                                  .group_by(ServiceTag.tag).order_by(ServiceTag.tag)).all())
    return {
        "organizations": count(select(func.count()).select_from(Organization)),
        "services": count(select(func.count()).select_from(Service)),
        "active_services": count(select(func.count()).select_from(Service).where(Service.status == "active")),
        "locations": count(select(func.count()).select_from(Location)),
        "locations_with_coordinates": count(select(func.count()).select_from(Location).where(
            Location.latitude.isnot(None), Location.longitude.isnot(None))),
        "locations_geocoded": count(select(func.count()).select_from(LocationGeocode)),
        "searchable_services": count(select(func.count(distinct(SearchPoint.service_id)))),
        "demo_services": count(select(func.count()).select_from(Service).where(Service.is_demo.is_(True))),
        "by_kind": _kind_counts(session),
        "active_by_kind": _kind_counts(session, Service.status == "active"),
        "by_tag": {tag: int(n) for tag, n in by_tag.items()},
        "by_dataset": dataset_stats(session),
    }
