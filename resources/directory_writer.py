"""Stores `DirectoryRecords` in the directory: checks every row, upserts by id in bulk, recomputes
service kinds, and reports what it did, all inside the caller's single transaction.

A row that cannot be used (no id, no name, linked to a parent that exists neither in the import nor
in the directory) is skipped with its reason; an optional link to a missing row is cleared with a
warning, so one bad reference does not cost a whole service.
"""
from __future__ import annotations

import math
from functools import lru_cache
from datetime import datetime, timezone

from sqlalchemy import String, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from resources import kinds
from resources.hsds_records import HSDS_FIELDS, SOURCE, DirectoryRecords, ImportReport, TableRecords
from resources.models import DERIVED_MODELS, HSDS_MODELS, Attribute, Service, ServiceAtLocation

SKIP, CLEAR = "skip", "clear"
_CHUNK = 500

# (field, table it points to, what to do when that row does not exist)
LINKS: dict[str, list[tuple[str, str, str]]] = {
    "service": [("organization_id", "organization", SKIP)],
    "location": [("organization_id", "organization", CLEAR)],
    "service_at_location": [("service_id", "service", SKIP), ("location_id", "location", SKIP)],
    "address": [("location_id", "location", SKIP)],
    "phone": [("service_id", "service", CLEAR), ("location_id", "location", CLEAR),
              ("organization_id", "organization", CLEAR), ("service_at_location_id", "service_at_location", CLEAR)],
    "schedule": [("service_id", "service", CLEAR), ("location_id", "location", CLEAR),
                 ("service_at_location_id", "service_at_location", CLEAR)],
    "language": [("service_id", "service", CLEAR), ("location_id", "location", CLEAR), ("phone_id", "phone", CLEAR)],
    "taxonomy_term": [("taxonomy_id", "taxonomy", CLEAR)],
    "attribute": [("taxonomy_term_id", "taxonomy_term", SKIP)],
}
REQUIRED = {
    "organization": ("name",),
    "service": ("name",),
    "service_at_location": ("service_id", "location_id"),
    "address": ("location_id",),
    "phone": ("number",),
    "attribute": ("link_id", "taxonomy_term_id"),
}
# At least one field of each group must be left after links are checked.
ANY_OF = {
    "phone": [("service_id", "location_id", "organization_id", "service_at_location_id")],
    "schedule": [("service_id", "location_id", "service_at_location_id")],
    "language": [("service_id", "location_id", "phone_id"), ("name", "code")],
    "taxonomy_term": [("code", "name")],
}
# Entities an attribute may describe, in the order tried when its link_entity is empty.
ATTRIBUTE_ENTITIES = ("service", "service_at_location", "organization", "location", "phone", "schedule",
                      "language", "address", "taxonomy_term")
ENTITY_ALIASES = {"services": "service", "organizations": "organization", "locations": "location",
                  "service_at_locations": "service_at_location", "services_at_location": "service_at_location",
                  "phones": "phone", "schedules": "schedule", "languages": "language", "addresses": "address",
                  "taxonomy_terms": "taxonomy_term"}
WITH_BOOKKEEPING = ("organization", "service", "location")


class DirectoryWriter:
    def __init__(self, conn: Connection, report: ImportReport, *, demo: bool = False):
        self.conn = conn
        self.report = report
        self.demo = demo
        self.now = datetime.now(timezone.utc).replace(tzinfo=None)
        self.accepted: dict[str, set[str]] = {t: set() for t in HSDS_FIELDS}
        self.in_db: dict[str, dict[str, bool]] = {t: {} for t in HSDS_FIELDS}

    # --- entry point ---

    def write(self, records: DirectoryRecords) -> ImportReport:
        if not self.demo:
            self.report.removed_demo_services = remove_demo_rows(self.conn)
            if self.report.removed_demo_services:
                self.report.notes.append(
                    f"removed the demo directory ({self.report.removed_demo_services} demo services)")
        for table in HSDS_FIELDS:
            if table in records.tables:
                self._write_table(records.tables[table], records.dataset)
        self.report.kinds = kinds.refresh_service_kinds(self.conn, self._affected_services())
        return self.report

    # --- one table ---

    def _write_table(self, data: TableRecords, dataset: str | None) -> None:
        table = data.table
        columns = list(data.columns)
        if table == "service" and "status" not in columns:
            columns.append("status")
            self.report.notes.append(f"{data.source} has no status column: its services are taken as active")
            for row in data.rows:
                row["status"] = "active"
        if table == "attribute" and "link_entity" not in columns:
            columns.append("link_entity")
            for row in data.rows:
                row["link_entity"] = None
        self._prefetch_links(table, data.rows)
        good, seen = [], {}
        for row in data.rows:
            reason = self._check(table, row, seen)
            if reason:
                self.report.skip(table, row, reason)
                continue
            seen[row["id"]] = row[SOURCE]
            good.append(row)
        self.accepted[table] = set(seen)
        self.report.inserted[table], self.report.updated[table] = 0, 0
        if not good:
            return
        out_columns = columns + (["is_demo", "dataset", "imported_at"] if table in WITH_BOOKKEEPING else ["is_demo"])
        values = []
        for row in good:
            value = {c: row[c] for c in columns}
            value["is_demo"] = self.demo
            if table in WITH_BOOKKEEPING:
                value["dataset"], value["imported_at"] = dataset, self.now
            values.append(value)
        inserted, updated = _upsert(self.conn, HSDS_MODELS[table].__table__, out_columns, values)
        self.report.inserted[table] = inserted
        self.report.updated[table] = updated

    def _check(self, table: str, row: dict, seen: dict[str, str]) -> str | None:
        """Why the row cannot be stored, or None after normalising it in place."""
        row_id = row.get("id")
        if not row_id:
            return "no id"
        if len(row_id) > 255:
            return "id longer than 255 characters"
        if row_id in seen:
            return f"duplicate id (first at {seen[row_id]})"
        for name in REQUIRED.get(table, ()):
            if name in row and not row[name]:
                return f"no {name}"
            if name not in row:
                return f"no {name} column"
        self._normalise(table, row)
        for name, target, on_missing in LINKS.get(table, ()):
            ref = row.get(name)
            if ref and not self._exists(target, ref):
                if on_missing == SKIP:
                    return f"{name} {ref} is not in the directory"
                row[name] = None
                self._warn(row, f"{name} {ref} is not in the directory; link dropped")
        if table == "attribute":
            reason = self._resolve_attribute_link(row)
            if reason:
                return reason
        for group in ANY_OF.get(table, ()):
            if not any(row.get(name) for name in group):
                return f"none of {', '.join(group)} is set to a row in the directory"
        return None

    def _normalise(self, table: str, row: dict) -> None:
        """Types and tidy values: numbers parsed, status lower-cased, over-long text cut."""
        if table == "service":
            if row.get("status"):
                row["status"] = " ".join(row["status"].lower().split())
            elif "status" in row:
                self._warn(row, "no status: the service will not be shown until it is marked active")
            for name in ("minimum_age", "maximum_age"):
                if name in row:
                    row[name] = self._number(row, name, int)
        elif table == "location":
            lat = self._number(row, "latitude", float) if "latitude" in row else None
            lon = self._number(row, "longitude", float) if "longitude" in row else None
            if lat is not None and lon is not None and (abs(lat) > 90 or abs(lon) > 180 or lat == lon == 0):
                self._warn(row, f"latitude/longitude {lat}, {lon} is not a place on Earth; location not searchable")
                lat = lon = None
            if "latitude" in row:
                row["latitude"] = lat
            if "longitude" in row:
                row["longitude"] = lon
        elif table == "phone":
            if row.get("number"):
                row["number"] = row["number"].strip('"\' ') or None
            if row.get("extension", "") and row["extension"].endswith(".0"):
                row["extension"] = row["extension"][:-2]
            if row.get("type"):
                row["type"] = row["type"].lower()
        for name, value in row.items():
            if isinstance(value, str) and name != "id":
                limit = _length(table, name)
                if limit and len(value) > limit:
                    row[name] = value[:limit]
                    self._warn(row, f"{name} cut to {limit} characters")

    def _number(self, row: dict, name: str, kind: type):
        text = row.get(name)
        if text is None:
            return None
        try:
            value = float(text.replace(",", "."))
            if not math.isfinite(value):
                raise ValueError
            return int(round(value)) if kind is int else value
        except ValueError:
            self._warn(row, f"{name} {text!r} is not a number; left empty")
            return None

    def _resolve_attribute_link(self, row: dict) -> str | None:
        entity = (row.get("link_entity") or "").strip().lower().replace(" ", "_") or None
        entity = ENTITY_ALIASES.get(entity, entity)
        link_id = row["link_id"]
        if entity and entity not in ATTRIBUTE_ENTITIES:
            return f"describes a {entity}, which the navigator does not keep"
        for candidate in ([entity] if entity else ATTRIBUTE_ENTITIES):
            if self._exists(candidate, link_id):
                row["link_entity"] = candidate
                return None
        return f"link_id {link_id} is not in the directory"

    # --- existence of linked rows ---

    def _prefetch_links(self, table: str, rows: list[dict]) -> None:
        """Look up in one query per target table the linked ids not accepted in this import."""
        wanted: dict[str, set[str]] = {}
        for name, target, _ in LINKS.get(table, ()):
            wanted.setdefault(target, set()).update(r[name] for r in rows if r.get(name))
        if table == "attribute":
            ids = {r["link_id"] for r in rows if r.get("link_id")}
            for target in ATTRIBUTE_ENTITIES:
                wanted.setdefault(target, set()).update(ids)
        for target, ids in wanted.items():
            missing = [i for i in ids - self.accepted[target] if i not in self.in_db[target]]
            found = _existing_ids(self.conn, HSDS_MODELS[target].__table__, missing)
            self.in_db[target].update({i: i in found for i in missing})

    def _exists(self, table: str, row_id: str) -> bool:
        if row_id in self.accepted[table]:
            return True
        if row_id not in self.in_db[table]:
            self.in_db[table][row_id] = bool(_existing_ids(self.conn, HSDS_MODELS[table].__table__, [row_id]))
        return self.in_db[table][row_id]

    def _warn(self, row: dict, message: str) -> None:
        ident = f" (id {row['id']})" if row.get("id") else ""
        self.report.warnings.append(f"{row.get(SOURCE, '')}{ident}: {message}")

    # --- kinds ---

    def _affected_services(self) -> set[str]:
        """Services whose kinds may have changed: imported ones, and ones whose tags or terms changed."""
        services = set(self.accepted["service"])
        attribute_ids = self.accepted["attribute"]
        if self.accepted["taxonomy_term"]:
            for chunk in _chunks(sorted(self.accepted["taxonomy_term"])):
                attribute_ids = attribute_ids | set(self.conn.execute(
                    select(Attribute.id).where(Attribute.taxonomy_term_id.in_(chunk))).scalars())
        for chunk in _chunks(sorted(attribute_ids)):
            for link_id, entity in self.conn.execute(
                    select(Attribute.link_id, Attribute.link_entity).where(Attribute.id.in_(chunk))):
                if entity == "service":
                    services.add(link_id)
                elif entity == "service_at_location":
                    services.update(self.conn.execute(
                        select(ServiceAtLocation.service_id).where(ServiceAtLocation.id == link_id)).scalars())
        for chunk in _chunks(sorted(self.accepted["organization"])):
            services.update(self.conn.execute(
                select(Service.id).where(Service.organization_id.in_(chunk))).scalars())
        return services


@lru_cache(maxsize=None)
def _length(table: str, column: str) -> int | None:
    col = HSDS_MODELS[table].__table__.columns.get(column)
    return col.type.length if col is not None and isinstance(col.type, String) else None


def _chunks(items: list, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _existing_ids(conn: Connection, table, ids) -> set[str]:
    ids = list(ids)
    found: set[str] = set()
    for chunk in _chunks(ids):
        found.update(conn.execute(select(table.c.id).where(table.c.id.in_(chunk))).scalars())
    return found


def _upsert(conn: Connection, table, columns: list[str], values: list[dict]) -> tuple[int, int]:
    """Insert new ids and update existing ones, in bulk (executemany), touching only `columns`."""
    existing = _existing_ids(conn, table, [v["id"] for v in values])
    new = [v for v in values if v["id"] not in existing]
    old = [v for v in values if v["id"] in existing]
    if new:
        conn.execute(insert(table), new)
    if old:
        settable = [c for c in columns if c != "id"]
        stmt = update(table).where(table.c.id == bindparam("b_id")).values(
            {c: bindparam(f"b_{c}") for c in settable})
        conn.execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in old])
    return len(new), len(old)


def remove_demo_rows(conn: Connection) -> int:
    """Delete every demo row (children first); returns how many demo services there were."""
    service = HSDS_MODELS["service"].__table__
    count = conn.execute(select(func.count()).select_from(service).where(service.c.is_demo.is_(True))).scalar_one()
    demo_services = select(service.c.id).where(service.c.is_demo.is_(True))
    for model in DERIVED_MODELS:
        conn.execute(delete(model.__table__).where(model.__table__.c.service_id.in_(demo_services)))
    for table in reversed(list(HSDS_FIELDS)):
        t = HSDS_MODELS[table].__table__
        conn.execute(delete(t).where(t.c.is_demo.is_(True)))
    return count
