"""Reader for an HSDS 3.0 tabular datapackage: a folder of CSV files, with or without datapackage.json.

HSDS 3.0 tables and fields are the directory's own, so this reader only finds the files, checks
that each has an `id` column and hands the rows on as `DirectoryRecords`.
"""
from __future__ import annotations

from pathlib import Path

from resources.csv_files import PackageResource, read_csv, read_datapackage, table_rows
from resources.hsds_records import HSDS_FIELDS, DirectoryRecords, HsdsImportError, TableRecords

FORMAT = "HSDS 3.0 CSV"

# Table -> file names used when there is no datapackage.json (or it does not list the table).
STANDARD_FILES = {
    "organization": ("organizations.csv", "organization.csv"),
    "service": ("services.csv", "service.csv"),
    "location": ("locations.csv", "location.csv"),
    "service_at_location": ("service_at_location.csv", "service_at_locations.csv", "services_at_location.csv"),
    "address": ("addresses.csv", "address.csv"),
    "phone": ("phones.csv", "phone.csv"),
    "schedule": ("schedules.csv", "schedule.csv"),
    "language": ("languages.csv", "language.csv"),
    "taxonomy": ("taxonomies.csv", "taxonomy.csv"),
    "taxonomy_term": ("taxonomy_terms.csv", "taxonomy_term.csv"),
    "attribute": ("attributes.csv", "attribute.csv"),
}
# Names that only HSDS 1.x / 2.0 use: their presence means another reader's format.
OLDER_HSDS_NAMES = {"physical_address", "postal_address", "regular_schedule", "holiday_schedule",
                    "service_taxonomy", "service_attribute", "other_attribute", "eligibility",
                    "accessibility_for_disabilities", "payment_accepted"}
OLDER_HSDS_FILES = {"physical_addresses.csv", "regular_schedules.csv", "services_taxonomy.csv",
                    "service_attributes.csv", "holiday_schedules.csv"}


def looks_like_older_hsds(folder: Path) -> bool:
    """True for an HSDS 1.x / 2.0 folder, which this reader must not take for 3.0."""
    names = set()
    if (folder / "datapackage.json").is_file():
        try:
            descriptor, resources = read_datapackage(folder)
        except HsdsImportError:
            return False
        if str(descriptor.get("version", "")).startswith("3"):
            return False
        names = {r.name for r in resources}
    files = {p.name.lower() for p in folder.glob("*.csv")} | {p.name.lower() for p in folder.glob("data/*.csv")}
    return bool(names & OLDER_HSDS_NAMES or files & OLDER_HSDS_FILES)


def detect(path: Path) -> bool:
    """Whether `path` is a folder this reader can take."""
    if not path.is_dir() or looks_like_older_hsds(path):
        return False
    if (path / "datapackage.json").is_file():
        return True
    return any((path / name).is_file() for names in STANDARD_FILES.values() for name in names)


def _table_for(res: PackageResource) -> str | None:
    """The HSDS table a datapackage resource holds: by its name ("service", "services") or file name."""
    for name in (res.name, res.name[:-1] if res.name.endswith("s") else None):
        if name in HSDS_FIELDS:
            return name
    file_names = {p.name.lower() for p in res.paths}
    return next((t for t, names in STANDARD_FILES.items() if file_names & set(names)), None)


def _table_files(folder: Path, notes: list[str]) -> tuple[str | None, dict[str, list[Path]]]:
    dataset, files = None, {}
    if (folder / "datapackage.json").is_file():
        descriptor, resources = read_datapackage(folder)
        dataset = str(descriptor.get("name") or "").strip() or None
        for res in resources:
            table = _table_for(res)
            if table is None:
                continue  # contact, program, funding, ...: not kept by the navigator
            present = [p for p in res.paths if p.is_file()]
            for p in res.paths:
                if not p.is_file():
                    notes.append(f"datapackage.json lists {p.name} for {res.name}, but the file is absent")
            if present:
                files[table] = present
    for table, names in STANDARD_FILES.items():
        if table not in files:
            found = next((folder / n for n in names if (folder / n).is_file()), None)
            if found:
                files[table] = [found]
    return dataset, files


def read(path: Path) -> DirectoryRecords:
    """Every row of the HSDS tables the directory keeps; raises HsdsImportError if a file is unreadable."""
    folder = path if path.is_dir() else path.parent
    notes: list[str] = []
    dataset, files = _table_files(folder, notes)
    if "service" not in files:
        raise HsdsImportError(f"{folder} has no services file (services.csv): nothing to import")
    records = DirectoryRecords(FORMAT, dataset or folder.name, notes=notes)
    for table in HSDS_FIELDS:
        if table not in files:
            continue
        columns, rows = None, []
        for file in files[table]:
            csv_table = read_csv(file, notes)
            if "id" not in csv_table.header:
                raise HsdsImportError(f"{file.name} has no id column (header: {', '.join(csv_table.header)[:200]})")
            file_columns, file_rows = table_rows(csv_table, HSDS_FIELDS[table], file.name)
            if columns is not None and file_columns != columns:
                raise HsdsImportError(f"the files of {table} have different columns")
            columns = file_columns
            rows += file_rows
        records.tables[table] = TableRecords(table, columns, rows, ", ".join(f.name for f in files[table]))
    return records
