"""Reader for HSDS 1.x and 2.0 tabular exports (CSV files, usually with datapackage.json), as 211s and
the Open Referral samples publish them, turned into HSDS 3.0 rows.

What changes from 1.x/2.0 to 3.0, and what this reader does about it:
- physical_addresses / postal_addresses -> address (address_type physical / postal);
- regular_schedules (one row per weekday, times like "9:00am", sometimes only prose) -> schedule;
  2.0 schedules pass through with their times normalised;
- languages (free text: "Spanish (limited)", "English and Spanish") -> language rows with ISO codes,
  the text kept as the note; phones.language ("en, es") -> language rows of the phone;
- taxonomy (1.x) / taxonomy_terms (2.0) -> taxonomy_term (the id is the code when it is one);
- services_taxonomy (1.x), service_attributes / other_attributes (2.0) -> attribute;
- eligibility -> the service's eligibility_description; services.fees -> fees_description;
- rows an export gives no id (Miami's schedules) get a stable made-up id from their owner's.
Tables the navigator does not use (contacts, funding, programs...) are listed in the report's notes.
"""
from __future__ import annotations

from pathlib import Path

from resources.importers.csv_files import dataset_name, find_table_files, read_datapackage, read_header
from resources.importers.hsds_records import SOURCE, DirectoryRecords, HsdsImportError, generated_id
from resources.importers.records_builder import RecordsBuilder, note_unused_files, read_rows, term_code

FORMAT_1 = "HSDS 1.x CSV"
FORMAT_2 = "HSDS 2.0 CSV"

TABLES = {
    "organization": ("organizations.csv", "organization.csv"),
    "service": ("services.csv", "service.csv"),
    "location": ("locations.csv", "location.csv"),
    "service_at_location": ("services_at_location.csv", "service_at_location.csv", "services_at_locations.csv"),
    "phone": ("phones.csv", "phone.csv"),
    "physical_address": ("physical_addresses.csv", "physical_address.csv"),
    "postal_address": ("postal_addresses.csv", "postal_address.csv"),
    "regular_schedule": ("regular_schedules.csv", "regular_schedule.csv"),
    "schedule": ("schedules.csv", "schedule.csv"),
    "holiday_schedule": ("holiday_schedules.csv", "holiday_schedule.csv"),
    "language": ("languages.csv", "language.csv"),
    "eligibility": ("eligibility.csv", "eligibilities.csv"),
    "taxonomy": ("taxonomy.csv", "taxonomies.csv"),
    "taxonomy_term": ("taxonomy_terms.csv", "taxonomy_term.csv"),
    "service_taxonomy": ("services_taxonomy.csv", "service_taxonomy.csv"),
    "service_attribute": ("service_attributes.csv", "service_attribute.csv"),
    "other_attribute": ("other_attributes.csv", "other_attribute.csv"),
}
# Names only HSDS 1.x / 2.0 use (datapackage resources and file names).
OLDER_NAMES = {"physical_address", "postal_address", "regular_schedule", "holiday_schedule", "service_taxonomy",
               "service_attribute", "other_attribute", "eligibility", "accessibility_for_disabilities",
               "payment_accepted"}
OLDER_FILES = {"physical_addresses.csv", "postal_addresses.csv", "regular_schedules.csv", "holiday_schedules.csv",
               "services_taxonomy.csv", "service_attributes.csv", "other_attributes.csv", "services_at_location.csv",
               "payments_accepted.csv", "accessibility_for_disabilities.csv"}


def _csv_names(folder: Path) -> set[str]:
    return {p.name.lower() for base in (folder, folder / "data") if base.is_dir() for p in base.glob("*.csv")}


def looks_like_older_hsds(folder: Path) -> bool:
    """True for an HSDS 1.x / 2.0 folder: its tables or columns have names HSDS 3.0 does not use."""
    if not folder.is_dir():
        return False
    names = _csv_names(folder)
    if names & OLDER_FILES:
        return True
    if (folder / "datapackage.json").is_file():
        try:
            _, resources = read_datapackage(folder)
        except HsdsImportError:
            return False
        if {r.name for r in resources} & OLDER_NAMES:
            return True
    for base in (folder, folder / "data"):
        if {"vocabulary", "parent_name"} & set(read_header(base / "taxonomy.csv")):  # 1.x terms, not 3.0 taxonomies
            return True
        services = set(read_header(base / "services.csv"))
        if "fees" in services and "fees_description" not in services:
            return True
    return False


def detect(path: Path) -> bool:
    return path.is_dir() and looks_like_older_hsds(path)


def read(path: Path, encoding: str = "utf-8") -> DirectoryRecords:
    """Every usable row, as HSDS 3.0 rows; raises HsdsImportError if a file cannot be read."""
    folder = path if path.is_dir() else path.parent
    notes: list[str] = []
    descriptor, files = find_table_files(folder, TABLES, notes)
    if descriptor is not None and not files:
        raise HsdsImportError(f"{folder}/datapackage.json describes the tables, but none of their CSV files is "
                              "here: there are no rows to import")
    if "service" not in files:
        raise HsdsImportError(f"{folder} has no services file (services.csv): nothing to import")
    version = str((descriptor or {}).get("version") or "")
    is_2 = bool({"schedule", "service_attribute", "other_attribute", "taxonomy_term"} & set(files)) \
        or version.startswith("2")
    dataset = dataset_name(descriptor, folder)
    b = RecordsBuilder(FORMAT_2 if is_2 else FORMAT_1, dataset)
    b.notes.extend(notes)
    data = {table: [row for f in paths for row in read_rows(f, b.notes, encoding)] for table, paths in files.items()}
    _convert(b, data)
    note_unused_files(folder, {p.resolve() for paths in files.values() for p in paths}, b.notes)
    return b.build()


def _convert(b: RecordsBuilder, data: dict[str, list[dict]]) -> None:
    service_ids = {r.get("id") for r in data.get("service", []) if r.get("id")}
    location_ids = {r.get("id") for r in data.get("location", []) if r.get("id")}
    sal_ids = {r.get("id") for r in data.get("service_at_location", []) if r.get("id")}

    for r in data.get("organization", []):
        b.add("organization", {**r, "website": r.get("website") or r.get("url")}, r[SOURCE], prose=True)

    eligibility: dict[str, list[str]] = {}
    for r in data.get("eligibility", []):
        text = r.get("eligibility")
        if not r.get("service_id"):
            b.skip("eligibility", r, "no service_id: the row links to no service")
        elif r["service_id"] not in service_ids:
            b.skip("eligibility", r, f"service_id {r['service_id']} is not in this export")
        elif text:
            eligibility.setdefault(r["service_id"], []).append(text)
    if data.get("eligibility") and not any(r.get("eligibility") for r in data["eligibility"]):
        b.notes.append("eligibility rows carry no text (HSDS 2.0 keeps eligibility as attributes)")

    for r in data.get("service", []):
        row = {**r, "fees_description": r.get("fees_description") or r.get("fees")}
        if r.get("id") in eligibility:
            row["eligibility_description"] = "; ".join(dict.fromkeys(eligibility[r["id"]]))
        b.add("service", row, r[SOURCE], prose=True)
        for n, term in enumerate(filter(None, (t.strip() for t in (r.get("taxonomy_ids") or "").split(","))), 1):
            b.add("attribute", {"id": generated_id("attribute", r.get("id"), term), "link_id": r.get("id"),
                                "link_entity": "service", "taxonomy_term_id": term}, r[SOURCE])
    b.own_generated("attribute", "link_id", service_ids)

    for r in data.get("location", []):
        b.add("location", r, r[SOURCE], prose=True)
    for r in data.get("service_at_location", []):
        b.add("service_at_location", r, r[SOURCE], prose=True)

    b.add_addresses(data.get("physical_address", []), data.get("postal_address", []))

    for r in data.get("phone", []):
        b.add("phone", r, r[SOURCE], prose=True)
        if r.get("language") and r.get("id"):
            b.add_languages(r["language"], {"phone_id": r["id"]}, r[SOURCE], codes=True)
    b.own_generated("language", "phone_id", {r.get("id") for r in data.get("phone", [])})

    for r in data.get("regular_schedule", []):
        b.add_weekly_schedule(r, {"service_id": r.get("service_id"), "location_id": r.get("location_id"),
                                  "service_at_location_id": r.get("service_at_location_id")})
    for r in data.get("schedule", []):
        if r.get("weekday") and not r.get("byday"):
            b.add_weekly_schedule(r, {"service_id": r.get("service_id"), "location_id": r.get("location_id"),
                                      "service_at_location_id": r.get("service_at_location_id")})
        else:
            b.add("schedule", r, r[SOURCE], prose=True)
    for field, ids in (("service_id", service_ids), ("location_id", location_ids),
                       ("service_at_location_id", sal_ids)):
        b.own_generated("schedule", field, ids)
    if data.get("holiday_schedule"):
        b.notes.append(f"{len(data['holiday_schedule'])} holiday schedule row(s) not used: the navigator shows "
                       "regular hours only")

    counts: dict[str, int] = {}
    for r in data.get("language", []):
        counts[r.get("id") or ""] = counts.get(r.get("id") or "", 0) + 1
    for r in data.get("language", []):
        owners = {"service_id": r.get("service_id"), "location_id": r.get("location_id")}
        if not any(owners.values()):
            b.skip("language", r, "no service_id or location_id: the row links to nothing")
            continue
        unique_id = r.get("id") if r.get("id") and counts[r["id"]] == 1 else None
        b.add_languages(r.get("language") or r.get("name") or r.get("code"), owners, r[SOURCE], unique_id)
    b.own_generated("language", "service_id", service_ids)
    b.own_generated("language", "location_id", location_ids)

    for r in data.get("taxonomy", []) + data.get("taxonomy_term", []):
        b.add("taxonomy_term", {
            "id": r.get("id"), "code": r.get("code") or term_code(r.get("id")),
            "name": r.get("name") or r.get("term"), "description": r.get("description"),
            "parent_id": r.get("parent_id"), "taxonomy": r.get("taxonomy") or r.get("vocabulary"),
            "language": r.get("language"),
        }, r[SOURCE])
    for r in data.get("service_taxonomy", []):
        b.add("attribute", {"id": r.get("id") or generated_id("attribute", r.get("service_id"), r.get("taxonomy_id")),
                            "link_id": r.get("service_id"), "link_entity": "service",
                            "taxonomy_term_id": r.get("taxonomy_id"), "value": r.get("taxonomy_detail")}, r[SOURCE])
    for r in data.get("service_attribute", []):
        b.add("attribute", {"id": r.get("id"), "link_id": r.get("service_id"), "link_entity": "service",
                            "taxonomy_term_id": r.get("taxonomy_term_id")}, r[SOURCE])
    for r in data.get("other_attribute", []):
        b.add("attribute", {"id": r.get("id"), "link_id": r.get("link_id"), "link_entity": r.get("link_type"),
                            "taxonomy_term_id": r.get("taxonomy_term_id")}, r[SOURCE])
