"""Counts that tell an operator what the directory holds (`navigator stats`, the console)."""
from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from resources.kinds import KINDS
from resources.models import Location, Organization, Service, ServiceKind


def directory_stats(session: Session) -> dict:
    """Rows per table and services per KIND (all four KINDS always present).

    `by_kind` counts every service of that kind; `active_by_kind` only those search can show.
    """
    def count(stmt) -> int:
        return int(session.execute(stmt).scalar_one())

    by_kind = {k: 0 for k in KINDS}
    active_by_kind = {k: 0 for k in KINDS}
    for kind, n in session.execute(
            select(ServiceKind.kind, func.count(distinct(ServiceKind.service_id))).group_by(ServiceKind.kind)):
        if kind in by_kind:
            by_kind[kind] = n
    for kind, n in session.execute(
            select(ServiceKind.kind, func.count(distinct(ServiceKind.service_id)))
            .join(Service, Service.id == ServiceKind.service_id)
            .where(Service.status == "active").group_by(ServiceKind.kind)):
        if kind in active_by_kind:
            active_by_kind[kind] = n
    return {
        "organizations": count(select(func.count()).select_from(Organization)),
        "services": count(select(func.count()).select_from(Service)),
        "active_services": count(select(func.count()).select_from(Service).where(Service.status == "active")),
        "locations": count(select(func.count()).select_from(Location)),
        "locations_with_coordinates": count(select(func.count()).select_from(Location).where(
            Location.latitude.isnot(None), Location.longitude.isnot(None))),
        "demo_services": count(select(func.count()).select_from(Service).where(Service.is_demo.is_(True))),
        "by_kind": by_kind,
        "active_by_kind": active_by_kind,
    }
