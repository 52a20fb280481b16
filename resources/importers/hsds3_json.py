"""Reader for HSDS 3.0 JSON: the shapes of the HSDS 3.0 API (a `service_full`, `organization_full`,
`service_at_location_full` or `location` object with its nested records; a page of them under
`contents`; a plain list) and the `tabular.json` shape ({"services.csv": [rows], ...}).

A file, or a folder of such files, is flattened into HSDS 3.0 table rows: each nested record becomes
a row linked to the record it sits in (a phone inside a service gets that service's id). The same
record met several times (the spec examples repeat a phone under the service, its location and its
contacts) is merged into one row. Contacts, funding, programs and the like are not kept.
"""
from __future__ import annotations

import json
from pathlib import Path

from resources.importers.hsds3_csv import STANDARD_FILES
from resources.importers.hsds_records import HSDS_FIELDS, DirectoryRecords, HsdsImportError
from resources.importers.records_builder import RecordsBuilder

FORMAT = "HSDS 3.0 JSON"
ENTITIES = ("organization", "service", "service_at_location", "location", "phone", "schedule", "language",
            "address", "attribute", "taxonomy_term", "taxonomy")
_FILE_TABLE = {name: table for table, names in STANDARD_FILES.items() for name in names}
# Nested lists: key -> (entity, link field the child gets, taken from the parent's id)
CHILDREN = {
    "organization": {"services": ("service", "organization_id"), "locations": ("location", "organization_id"),
                     "phones": ("phone", "organization_id"), "attributes": ("attribute", "link_id")},
    "service": {"phones": ("phone", "service_id"), "schedules": ("schedule", "service_id"),
                "languages": ("language", "service_id"), "attributes": ("attribute", "link_id"),
                "service_at_locations": ("service_at_location", "service_id")},
    "service_at_location": {"phones": ("phone", "service_at_location_id"),
                            "schedules": ("schedule", "service_at_location_id"),
                            "attributes": ("attribute", "link_id")},
    "location": {"addresses": ("address", "location_id"), "phones": ("phone", "location_id"),
                 "schedules": ("schedule", "location_id"), "languages": ("language", "location_id"),
                 "attributes": ("attribute", "link_id")},
    "phone": {"languages": ("language", "phone_id")},
}


def detect(path: Path) -> bool:
    if path.is_file():
        return path.suffix.lower() == ".json" and path.name.lower() != "datapackage.json"
    return path.is_dir() and not any(path.glob("*.csv")) and any(_json_files(path))


def _json_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.json") if p.name.lower() != "datapackage.json")


def _text(value) -> str | None:
    """A JSON scalar as the text the writer expects (numbers without a spurious ".0")."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _entity_of(obj: dict, hint: str | None) -> str | None:
    """Which HSDS record an object is: from the file name when it says, else from its keys."""
    if hint in ENTITIES:
        return hint
    keys = set(obj)
    if "service_at_locations" in keys or {"status", "organization"} <= keys:
        return "service"
    if isinstance(obj.get("service"), dict) and isinstance(obj.get("location"), dict):
        return "service_at_location"
    if keys & {"services", "legal_status", "organization_identifiers", "year_incorporated"}:
        return "organization"
    if keys & {"addresses", "location_type", "latitude"}:
        return "location"
    if "code" in keys and keys & {"taxonomy_detail", "term_uri", "parent_id", "taxonomy_id"}:
        return "taxonomy_term"
    if {"name", "uri", "version"} <= keys:
        return "taxonomy"
    if "status" in keys and "name" in keys:
        return "service"
    return None


def _hint(path: Path) -> str | None:
    stem = path.stem.lower()
    for suffix in ("_full", "_list", "_page", "s"):
        if stem.endswith(suffix) and stem[: -len(suffix)] in ENTITIES:
            return stem[: -len(suffix)]
    return stem if stem in ENTITIES else None


class _Flattener:
    def __init__(self, builder: RecordsBuilder, source: str):
        self.b = builder
        self.source = source
        self.found = 0

    def document(self, doc, hint: str | None) -> None:
        if isinstance(doc, list):
            for item in doc:
                self.document(item, hint)
        elif isinstance(doc, dict) and isinstance(doc.get("contents"), list):
            for item in doc["contents"]:
                self.entity(item, hint)
        elif isinstance(doc, dict) and doc and all(str(k).lower().endswith(".csv") for k in doc):
            for name, rows in doc.items():
                table = _FILE_TABLE.get(name.lower())
                for row in rows if table and isinstance(rows, list) else ():
                    if isinstance(row, dict):
                        self.b.add(table, {k: _text(v) for k, v in row.items()}, f"{self.source} {name}")
                        self.found += 1
        elif isinstance(doc, dict):
            self.entity(doc, hint)

    def entity(self, obj, hint: str | None, links: dict | None = None) -> str | None:
        """Add one record (and everything nested in it); returns its id."""
        if not isinstance(obj, dict):
            return None
        entity = _entity_of(obj, hint)
        if entity is None:
            return None
        row = {k: _text(obj.get(k)) for k in HSDS_FIELDS[entity] if k in obj}
        row.update({k: v for k, v in (links or {}).items() if v})
        if entity == "service" and isinstance(obj.get("organization"), dict):
            row["organization_id"] = self.entity(obj["organization"], "organization") or row.get("organization_id")
        if entity == "service" and isinstance(obj.get("program"), dict):
            row["program_id"] = _text(obj["program"].get("id"))
        if entity == "service_at_location":
            if isinstance(obj.get("service"), dict):
                row["service_id"] = self.entity(obj["service"], "service") or row.get("service_id")
            if isinstance(obj.get("location"), dict):
                row["location_id"] = self.entity(obj["location"], "location") or row.get("location_id")
        if entity == "taxonomy_term" and isinstance(obj.get("taxonomy_detail"), dict):
            row["taxonomy_id"] = self.entity(obj["taxonomy_detail"], "taxonomy") or row.get("taxonomy_id")
        if entity == "attribute" and isinstance(obj.get("taxonomy_term"), dict):
            row["taxonomy_term_id"] = self.entity(obj["taxonomy_term"], "taxonomy_term") or row.get("taxonomy_term_id")
        self.b.add(entity, row, self.source)
        self.found += 1
        row_id = row.get("id")
        for key, (child, link_field) in CHILDREN.get(entity, {}).items():
            child_links = {link_field: row_id}
            if child == "attribute":
                child_links["link_entity"] = entity  # the spec examples carry placeholder link fields
            for item in obj.get(key) or () if isinstance(obj.get(key), list) else ():
                self.entity(item, child, child_links)
        return row_id


def read(path: Path, encoding: str = "utf-8") -> DirectoryRecords:
    files = [path] if path.is_file() else _json_files(path)
    b = RecordsBuilder(FORMAT, path.stem if path.is_file() else path.name, merge_duplicates=True)
    for file in files:
        try:
            doc = json.loads(file.read_bytes().decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding))
        except UnicodeDecodeError as e:
            raise HsdsImportError(f"{file.name}: byte {e.start} is not valid {encoding} text") from None
        except json.JSONDecodeError as e:
            raise HsdsImportError(f"{file.name} line {e.lineno}: not valid JSON ({e.msg})") from None
        except (ValueError, RecursionError) as e:  # a number of over 4,300 digits; nesting too deep to parse
            raise HsdsImportError(f"{file.name}: not usable JSON "
                                  f"({'nested too deeply' if isinstance(e, RecursionError) else e})") from None
        except LookupError:
            raise HsdsImportError(f"unknown encoding {encoding!r}") from None
        except OSError as e:
            raise HsdsImportError(f"cannot read {file}: {e.strerror or e}") from None
        flattener = _Flattener(b, file.name)
        try:
            flattener.document(doc, _hint(file))
        except RecursionError:
            raise HsdsImportError(f"{file.name}: not usable JSON (nested too deeply)") from None
        if not flattener.found:
            b.notes.append(f"{file.name}: no directory records in it")
    records = b.build()
    if not records.tables:
        raise HsdsImportError(f"{path}: no HSDS 3.0 records found (expected services, organizations, "
                              "locations... as the HSDS 3.0 API returns them)")
    return records
