"""Reader for the Ohana API's CSV format (Code for America, pre-HSDS), turned into HSDS 3.0 rows.

Ohana differs from HSDS in shape: a service belongs to one location (services.location_id) and gets
its organization through it; locations and services list their languages as comma lists; addresses
are addresses.csv (physical) and mail_addresses.csv (postal); services carry free-text `keywords`
(kept as terms of a "keywords" taxonomy, which the kind and tag keywords read) and Open Eligibility
`taxonomy_ids` (Ohana's own ids, e.g. "101-04", defined in taxonomy.csv).
"""
from __future__ import annotations

from pathlib import Path

from resources.importers.csv_files import find_table_files, read_header
from resources.importers.hsds_records import SOURCE, DirectoryRecords, HsdsImportError, generated_id
from resources.importers.records_builder import RecordsBuilder, note_unused_files, read_rows, slug

FORMAT = "Ohana CSV"
KEYWORD_TAXONOMY = "keywords"
OHANA_TAXONOMY = "Open Eligibility (Ohana)"

TABLES = {
    "organization": ("organizations.csv",),
    "location": ("locations.csv",),
    "service": ("services.csv",),
    "address": ("addresses.csv",),
    "mail_address": ("mail_addresses.csv",),
    "phone": ("phones.csv",),
    "regular_schedule": ("regular_schedules.csv",),
    "holiday_schedule": ("holiday_schedules.csv",),
    "taxonomy": ("taxonomy.csv",),
}


def detect(path: Path) -> bool:
    """An Ohana folder: mail_addresses.csv, or services with location_id and keywords, or locations
    with comma-listed languages and accessibility."""
    if not path.is_dir():
        return False
    if (path / "mail_addresses.csv").is_file():
        return True
    services = set(read_header(path / "services.csv"))
    locations = set(read_header(path / "locations.csv"))
    return {"location_id", "keywords"} <= services or {"languages", "accessibility"} <= locations


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def read(path: Path, encoding: str = "utf-8") -> DirectoryRecords:
    folder = path if path.is_dir() else path.parent
    notes: list[str] = []
    _, files = find_table_files(folder, TABLES, notes)
    if "service" not in files:
        raise HsdsImportError(f"{folder} has no services file (services.csv): nothing to import")
    b = RecordsBuilder(FORMAT, folder.name)
    b.notes.extend(notes)
    data = {table: [row for f in paths for row in read_rows(f, b.notes, encoding)] for table, paths in files.items()}
    location_org = {r.get("id"): r.get("organization_id") for r in data.get("location", [])}
    service_ids = {r.get("id") for r in data.get("service", []) if r.get("id")}
    location_ids = set(location_org) - {None}

    for r in data.get("organization", []):
        b.add("organization", r, r[SOURCE], prose=True)
    for r in data.get("location", []):
        virtual = (r.get("virtual") or "").lower() == "true"
        b.add("location", {**r, "url": r.get("website"), "location_type": "virtual" if virtual else "physical",
                           "description": r.get("description") or r.get("short_desc")}, r[SOURCE], prose=True)
        if r.get("languages") and r.get("id"):
            b.add_languages(r["languages"], {"location_id": r["id"]}, r[SOURCE])
    b.own_generated("language", "location_id", location_ids)

    for r in data.get("service", []):
        sid, lid = r.get("id"), r.get("location_id")
        eligibility = "; ".join(p for p in (r.get("audience"), r.get("eligibility"))
                                if p and p.strip().lower() not in ("none", "none.", "n/a"))
        b.add("service", {**r, "organization_id": location_org.get(lid), "url": r.get("website"),
                          "fees_description": r.get("fees"), "eligibility_description": eligibility or None},
              r[SOURCE], prose=True)
        if sid and lid:
            b.add("service_at_location", {"id": generated_id("service_at_location", sid, lid), "service_id": sid,
                                          "location_id": lid}, r[SOURCE])
        if sid and r.get("languages"):
            b.add_languages(r["languages"], {"service_id": sid}, r[SOURCE])
        for keyword in _split(r.get("keywords")) if sid else ():
            term_id = generated_id("keyword", slug(keyword))
            b.add("taxonomy_term", {"id": term_id, "name": keyword, "taxonomy": KEYWORD_TAXONOMY}, r[SOURCE])
            b.add("attribute", {"id": generated_id("attribute", sid, "keyword", slug(keyword)), "link_id": sid,
                                "link_entity": "service", "taxonomy_term_id": term_id}, r[SOURCE])
        for term in _split(r.get("taxonomy_ids")) if sid else ():
            b.add("attribute", {"id": generated_id("attribute", sid, "term", term), "link_id": sid,
                                "link_entity": "service", "taxonomy_term_id": term}, r[SOURCE])
    b.own_generated("language", "service_id", service_ids)
    b.own_generated("attribute", "link_id", service_ids)
    b.own_generated("service_at_location", "service_id", service_ids)

    for r in data.get("taxonomy", []):
        term_id = r.get("taxonomy_id") or r.get("id")
        b.add("taxonomy_term", {"id": term_id, "code": term_id, "name": r.get("name"),
                                "parent_id": r.get("parent_id"), "taxonomy": OHANA_TAXONOMY}, r[SOURCE])

    b.add_addresses(data.get("address", []), data.get("mail_address", []))

    for r in data.get("phone", []):
        b.add("phone", {**r, "type": r.get("number_type") or r.get("type"), "description": r.get("department")},
              r[SOURCE])

    for r in data.get("regular_schedule", []):
        b.add_weekly_schedule(r, {"service_id": r.get("service_id"), "location_id": r.get("location_id")})
    b.own_generated("schedule", "service_id", service_ids)
    b.own_generated("schedule", "location_id", location_ids)
    if data.get("holiday_schedule"):
        b.notes.append(f"{len(data['holiday_schedule'])} holiday schedule row(s) not used: the navigator shows "
                       "regular hours only")
    note_unused_files(folder, {p.resolve() for paths in files.values() for p in paths}, b.notes)
    return b.build()
