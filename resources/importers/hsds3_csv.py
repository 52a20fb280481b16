"""Reader for an HSDS 3.0 tabular datapackage: a folder of CSV files, with or without datapackage.json.

HSDS 3.0 tables and fields are the directory's own, so this reader only finds the files, checks
that each has an `id` column and hands the rows on as `DirectoryRecords`.
"""
from __future__ import annotations

from pathlib import Path

from resources.importers import hsds_legacy_csv, ohana_csv
from resources.importers.csv_files import dataset_name, find_table_files, read_csv, table_rows
from resources.importers.hsds_records import HSDS_FIELDS, DirectoryRecords, HsdsImportError, TableRecords

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


def detect(path: Path) -> bool:
    """Whether `path` is a folder this reader can take (not an HSDS 1.x/2.0 or Ohana one)."""
    if not path.is_dir() or hsds_legacy_csv.looks_like_older_hsds(path) or ohana_csv.detect(path):
        return False
    if (path / "datapackage.json").is_file():
        return True
    return any((path / name).is_file() for names in STANDARD_FILES.values() for name in names)


def read(path: Path, encoding: str = "utf-8") -> DirectoryRecords:
    """Every row of the HSDS tables the directory keeps; raises HsdsImportError if a file is unreadable."""
    folder = path if path.is_dir() else path.parent
    notes: list[str] = []
    descriptor, files = find_table_files(folder, STANDARD_FILES, notes)
    if descriptor is not None and not files:
        raise HsdsImportError(f"{folder}/datapackage.json describes the tables, but none of their CSV files is "
                              "here: there are no rows to import")
    if "service" not in files:
        raise HsdsImportError(f"{folder} has no services file (services.csv): nothing to import")
    records = DirectoryRecords(FORMAT, dataset_name(descriptor, folder), notes=notes)
    for table in HSDS_FIELDS:
        if table not in files:
            continue
        columns, rows = None, []
        for file in files[table]:
            csv_table = read_csv(file, notes, encoding)
            if "id" not in csv_table.header:
                raise HsdsImportError(f"{file.name} has no id column (header: {', '.join(csv_table.header)[:200]})")
            file_columns, file_rows = table_rows(csv_table, HSDS_FIELDS[table], file.name)
            if columns is not None and file_columns != columns:
                raise HsdsImportError(f"the files of {table} have different columns")
            columns = file_columns
            rows += file_rows
        records.tables[table] = TableRecords(table, columns, rows, ", ".join(f.name for f in files[table]))
    used = {p.resolve() for paths in files.values() for p in paths}
    unused = sorted(p.name for p in folder.glob("*.csv") if p.resolve() not in used)
    if unused:
        notes.append("not used by the navigator: " + ", ".join(unused))
    return records
