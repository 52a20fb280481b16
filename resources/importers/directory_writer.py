"""Stores `DirectoryRecords` in the directory: checks every row, upserts by id in bulk, recomputes
service kinds, and reports what it did, all inside the caller's single transaction.

A row that cannot be used (no id, no name, linked to a parent that exists neither in the import nor
in the directory) is skipped with its reason; an optional link to a missing row is cleared with a
warning, so one bad reference does not cost a whole service. Values are tidied on the way in
(`_normalise`: times, web addresses, language codes, ages stated in eligibility text), locations
without coordinates are placed at their ZIP code or town (`geocode_locations`), and the derived
tables (kinds, tags, search index) are recomputed for every service the import touched.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import String, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from resources.importers.cleaning import age_range, normalise_time, normalise_url
from resources.importers.hsds_records import (
    GENERATED,
    HSDS_FIELDS,
    SOURCE,
    DirectoryRecords,
    ImportReport,
    TableRecords,
)
from resources.importers.progress import NoProgress, Progress
from resources.models import (
    DERIVED_MODELS,
    HSDS_MODELS,
    Address,
    Attribute,
    Location,
    LocationGeocode,
    SearchPoint,
    Service,
    ServiceAtLocation,
)
from resources.places.geocode import geocode_address
from resources.search import index as search_index
from resources.taxonomy import kinds
from resources.taxonomy.languages import language_table

SKIP, CLEAR = "skip", "clear"
_CHUNK = 500
_WRITE_CHUNK = 5000

# (field, table it points to, what to do when that row does not exist)
LINKS: dict[str, list[tuple[str, str, str]]] = {
    "service": [("organization_id", "organization", CLEAR)],  # 211 exports miss organizations; keep the service
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
URL_FIELDS = {"service": ("url",), "organization": ("website",), "location": ("url",), "schedule": ("schedule_link",)}


class DirectoryWriter:
    def __init__(self, conn: Connection, report: ImportReport, *, demo: bool = False,
                 progress: Progress | None = None):
        self.conn = conn
        self.report = report
        self.demo = demo
        self.progress = progress or NoProgress()
        self.now = datetime.now(timezone.utc).replace(tzinfo=None)
        self.accepted: dict[str, set[str]] = {t: set() for t in HSDS_FIELDS}
        self.in_db: dict[str, dict[str, bool]] = {t: {} for t in HSDS_FIELDS}
        self.address_locations: set[str] = set()

    # --- entry point ---

    def write(self, *exports: DirectoryRecords) -> ImportReport:
        """Store one or more exports (sub-folders of one import), then recompute what derives from them."""
        if not self.demo:
            self.report.removed_demo_services = remove_demo_rows(self.conn)
            if self.report.removed_demo_services:
                self.report.notes.append(
                    f"removed the demo directory ({self.report.removed_demo_services} demo services)")
        for records in exports:
            for table in HSDS_FIELDS:
                if table in records.tables:
                    self._write_table(records.tables[table], records.dataset)
            for data in records.tables.values():
                self._remove_stale_generated(data)
        analyze(self.conn, [m.__table__ for m in HSDS_MODELS.values()])
        self.progress.stage("placing locations without coordinates")
        self.report.geocoded = geocode_locations(self.conn, self.accepted["location"] | self.address_locations)
        placed = self.report.geocoded.get("zip", 0) + self.report.geocoded.get("city", 0)
        if placed or self.report.geocoded.get("none"):
            self.report.notes.append(
                f"{placed} location(s) without coordinates placed at their ZIP code or town centre (approximate); "
                f"{self.report.geocoded.get('none', 0)} could not be placed and are not found by search")
        services = self._affected_services()
        self.progress.stage("classifying services", len(services))
        self.report.kinds, self.report.tags = kinds.refresh_service_kinds(self.conn, services, self.progress)
        analyze(self.conn, [m.__table__ for m in DERIVED_MODELS])
        self.progress.stage("indexing for search", len(services))
        search_index.refresh_search_points(self.conn, services, self.progress)
        analyze(self.conn, [SearchPoint.__table__])
        return self.report

    # --- one table ---

    def _write_table(self, data: TableRecords, dataset: str | None) -> None:
        table = data.table
        columns = list(data.columns)
        self.progress.stage(f"writing {table}", len(data.rows))
        if table == "service" and "status" not in columns:
            columns.append("status")
            self.report.notes.append(f"{data.source} has no status column: its services are taken as active")
            for row in data.rows:
                row["status"] = "active"
        elif table == "service" and data.rows and not any(row.get("status") for row in data.rows):
            self.report.notes.append(f"{data.source} leaves every status empty: its services are taken as active")
            for row in data.rows:
                row["status"] = "active"
        if table == "service" and "eligibility_description" in columns:
            columns += [c for c in ("minimum_age", "maximum_age") if c not in columns]
        if table == "language":  # a code is filled in from the name, and the other way round
            columns += [c for c in ("name", "code") if c not in columns]
        if table == "attribute" and "link_entity" not in columns:
            columns.append("link_entity")
            for row in data.rows:
                row["link_entity"] = None
        for row in data.rows:
            for c in columns:
                row.setdefault(c, None)
        self._prefetch_links(table, data.rows)
        good, seen = [], {}
        for row in data.rows:
            reason = self._check(table, row, seen)
            if reason:
                self.report.skip(table, row, reason)
                continue
            seen[row["id"]] = row[SOURCE]
            good.append(row)
        self.accepted[table] |= set(seen)
        if table == "address":
            self.address_locations |= {row["location_id"] for row in good if row.get("location_id")}
        self.report.inserted.setdefault(table, 0)
        self.report.updated.setdefault(table, 0)
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
        if table in WITH_BOOKKEEPING and not self.demo:
            self._warn_overwritten(table, values, dataset)
        inserted, updated = _upsert(self.conn, HSDS_MODELS[table].__table__, out_columns, values, self.progress)
        self.report.inserted[table] += inserted
        self.report.updated[table] += updated

    def _warn_overwritten(self, table: str, values: list[dict], dataset: str | None) -> None:
        """Say so when the import replaces rows another export brought in (same ids, other dataset)."""
        t = HSDS_MODELS[table].__table__
        others: dict[str, int] = {}
        for chunk in _chunks([v["id"] for v in values]):
            for other in self.conn.execute(select(t.c.dataset).where(
                    t.c.id.in_(chunk), t.c.dataset.isnot(None), t.c.dataset != (dataset or ""),
                    t.c.is_demo.is_(False))).scalars():
                others[other] = others.get(other, 0) + 1
        for other, n in others.items():
            self.report.warnings.append(
                f"{n} {table} row(s) had the same id as rows imported from {other!r} and replaced them; "
                f"import with --id-prefix to keep both exports")

    def _remove_stale_generated(self, data: TableRecords) -> None:
        """Delete generated rows (made-up ids) of owners this import describes but no longer has."""
        if not data.generated_owners:
            return
        t = HSDS_MODELS[data.table].__table__
        keep = self.accepted[data.table]
        for owner_field, owners in data.generated_owners.items():
            column = t.c[owner_field]
            for chunk in _chunks(sorted(owners)):
                stale = [i for i in self.conn.execute(select(t.c.id).where(
                    column.in_(chunk), t.c.id.like(GENERATED + "%"))).scalars() if i not in keep]
                if stale:
                    self.conn.execute(delete(t).where(t.c.id.in_(stale)))

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
        """Types and tidy values: numbers parsed, status lower-cased, times and web addresses in one
        form, language codes filled in, ages read from eligibility text, over-long text cut."""
        if table == "service":
            if row.get("status"):
                row["status"] = " ".join(row["status"].lower().split())
            elif "status" in row:
                self._warn(row, "no status: the service will not be shown until it is marked active")
            for name in ("minimum_age", "maximum_age"):
                if name in row:
                    row[name] = self._number(row, name, int)
            if row.get("eligibility_description") and row.get("minimum_age") is None \
                    and row.get("maximum_age") is None:
                found = age_range(row["eligibility_description"])
                if found:
                    row["minimum_age"], row["maximum_age"] = found
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
        elif table == "schedule":
            for name in ("opens_at", "closes_at"):
                if row.get(name):
                    row[name] = normalise_time(row[name]) or row[name]
        elif table == "language":
            lang = language_table().lookup(row.get("code")) or language_table().lookup(row.get("name"))
            if lang and not row.get("code"):
                row["code"] = lang.code
            if lang and not row.get("name"):
                row["name"] = lang.name
        for name in URL_FIELDS.get(table, ()):
            if row.get(name):
                url, problem = normalise_url(row[name])
                if problem:
                    self._warn(row, f"{name}: {problem}; left empty")
                row[name] = url
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
            if not math.isfinite(value) or (kind is int and abs(value) >= 2**31):  # an Integer column's range
                raise ValueError
            return int(round(value)) if kind is int else value
        except ValueError:
            self._warn(row, f"{name} {text!r} is not a number; left empty")
            return None

    def _resolve_attribute_link(self, row: dict) -> str | None:
        entity = _entity_name(row.get("link_entity"))
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
            for r in rows:
                if r.get("link_id"):
                    entity = _entity_name(r.get("link_entity"))
                    for target in ([entity] if entity in ATTRIBUTE_ENTITIES else ATTRIBUTE_ENTITIES):
                        wanted.setdefault(target, set()).add(r["link_id"])
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
        """Services whose derived rows may have changed: imported ones, ones whose tags or terms changed,
        ones of imported organizations, and ones at imported locations or service-at-location rows."""
        services = set(self.accepted["service"])
        attribute_ids = self.accepted["attribute"]
        if self.accepted["taxonomy_term"]:
            for chunk in _chunks(sorted(self.accepted["taxonomy_term"])):
                attribute_ids = attribute_ids | set(self.conn.execute(
                    select(Attribute.id).where(Attribute.taxonomy_term_id.in_(chunk))).scalars())
        sal_ids = set(self.accepted["service_at_location"])
        for chunk in _chunks(sorted(attribute_ids)):
            for link_id, entity in self.conn.execute(
                    select(Attribute.link_id, Attribute.link_entity).where(Attribute.id.in_(chunk))):
                if entity == "service":
                    services.add(link_id)
                elif entity == "service_at_location":
                    sal_ids.add(link_id)
        for chunk in _chunks(sorted(sal_ids)):
            services.update(self.conn.execute(
                select(ServiceAtLocation.service_id).where(ServiceAtLocation.id.in_(chunk))).scalars())
        for chunk in _chunks(sorted(self.accepted["location"] | self.address_locations)):
            services.update(self.conn.execute(
                select(ServiceAtLocation.service_id).where(ServiceAtLocation.location_id.in_(chunk))).scalars())
        for chunk in _chunks(sorted(self.accepted["organization"])):
            services.update(self.conn.execute(
                select(Service.id).where(Service.organization_id.in_(chunk))).scalars())
        return services


def analyze(conn: Connection, tables) -> None:
    """Refresh PostgreSQL's planner statistics inside the import's transaction. Without this the
    planner believes the tables the import has just filled are empty (autovacuum cannot see rows not
    yet committed) and reads whole tables for every lookup: imports grow quadratically slow."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE " + ", ".join(t.name for t in tables))


def _entity_name(text: str | None) -> str | None:
    entity = (text or "").strip().lower().replace(" ", "_") or None
    return ENTITY_ALIASES.get(entity, entity)


def geocode_locations(conn: Connection, location_ids: set[str]) -> dict[str, int]:
    """Give locations without coordinates those of their address's ZIP code, else its town (offline,
    from the gazetteer), and record how (`location_geocode`). Locations with coordinates of their own
    lose any such record. Returns how many were placed by "zip", by "city", and "none".
    """
    counts = {"zip": 0, "city": 0, "none": 0}
    for chunk in _chunks(sorted(location_ids)):
        rows = conn.execute(select(Location.id, Location.latitude, Location.longitude, Location.location_type)
                            .where(Location.id.in_(chunk))).all()
        missing = [r.id for r in rows if (r.latitude is None or r.longitude is None)
                   and (r.location_type or "").lower() != "virtual"]
        conn.execute(delete(LocationGeocode).where(LocationGeocode.location_id.in_(chunk)))
        if not missing:
            continue
        addresses: dict[str, list] = {}
        order = {"physical": 0, None: 1, "": 1, "postal": 2}
        for a in conn.execute(select(Address.location_id, Address.postal_code, Address.city, Address.state_province,
                                     Address.address_type, Address.id).where(Address.location_id.in_(missing))):
            addresses.setdefault(a.location_id, []).append(a)
        placed, records = [], []
        for lid in missing:
            found = None
            for a in sorted(addresses.get(lid, []), key=lambda a: (order.get((a.address_type or "").lower(), 3), a.id)):
                found = geocode_address(a.postal_code, a.city, a.state_province)
                if found:
                    break
            if found is None:
                counts["none"] += 1
                continue
            place, method, query = found
            counts[method] += 1
            placed.append({"b_id": lid, "b_lat": place.lat, "b_lon": place.lon})
            records.append({"location_id": lid, "method": method, "query": query})
        if placed:
            conn.execute(update(Location).where(Location.id == bindparam("b_id"))
                         .values(latitude=bindparam("b_lat"), longitude=bindparam("b_lon")), placed)
            conn.execute(insert(LocationGeocode), records)
    return counts


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


def _upsert(conn: Connection, table, columns: list[str], values: list[dict],
            progress: Progress | None = None) -> tuple[int, int]:
    """Insert new ids and update existing ones, in bulk (executemany), touching only `columns`."""
    inserted = updated = 0
    settable = [c for c in columns if c != "id"]
    stmt_update = update(table).where(table.c.id == bindparam("b_id")).values(
        {c: bindparam(f"b_{c}") for c in settable})
    for start in range(0, len(values), _WRITE_CHUNK):
        batch = values[start:start + _WRITE_CHUNK]
        existing = _existing_ids(conn, table, [v["id"] for v in batch])
        new = [v for v in batch if v["id"] not in existing]
        old = [v for v in batch if v["id"] in existing]
        if new:
            conn.execute(insert(table), new)
        if old:
            conn.execute(stmt_update, [{f"b_{k}": v for k, v in row.items()} for row in old])
        inserted, updated = inserted + len(new), updated + len(old)
        if progress:
            progress.advance(len(batch))
    return inserted, updated


def remove_demo_rows(conn: Connection) -> int:
    """Delete every demo row (children first); returns how many demo services there were."""
    service = HSDS_MODELS["service"].__table__
    count = conn.execute(select(func.count()).select_from(service).where(service.c.is_demo.is_(True))).scalar_one()
    demo_services = select(service.c.id).where(service.c.is_demo.is_(True))
    for model in DERIVED_MODELS:
        conn.execute(delete(model.__table__).where(model.__table__.c.service_id.in_(demo_services)))
    location = HSDS_MODELS["location"].__table__
    conn.execute(delete(LocationGeocode).where(LocationGeocode.location_id.in_(
        select(location.c.id).where(location.c.is_demo.is_(True)))))
    for table in reversed(list(HSDS_FIELDS)):
        t = HSDS_MODELS[table].__table__
        conn.execute(delete(t).where(t.c.is_demo.is_(True)))
    return count
