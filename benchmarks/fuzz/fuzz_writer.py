"""Fuzz the importer's checks and clean-ups of each stored value (resources.importers.directory_writer):
numbers (ages, latitude / longitude), statuses, phone numbers and extensions, times, web
addresses, language codes, ages in eligibility text, links between rows, and the offline geocoding
of addresses without coordinates, by storing one small fuzzed export in an in-memory SQLite
directory (rolled back after each input).

    .venv/bin/python benchmarks/fuzz/fuzz_writer.py -max_total_time=300

Allowed outcomes: rows stored, cleared with a warning, or skipped with a reason. Any exception is
a finding, a database error included: one odd cell must not cost an agency its whole import.
"""
import atheris
import harness  # noqa: F401  (first: sys.path, defaults)
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

with harness.instrumented():
    from navigator.schema import create_schema
    from resources.importers.directory_writer import DirectoryWriter
    from resources.importers.hsds_records import SOURCE, DirectoryRecords, ImportReport, TableRecords

ENGINE = create_engine("sqlite://", future=True, poolclass=StaticPool, connect_args={"check_same_thread": False})
create_schema(ENGINE)
NUMBERS = ["", "0", "-0", "18", "1e30", "99999999999999999999", "1,5", "nan", "inf", "-91", "37.5", "1_0", "٣"]
# table -> fields filled from fuzz input (ids and links are fixed so the rows link up)
FUZZED = {
    "organization": ("name", "website", "description"),
    "service": ("name", "status", "minimum_age", "maximum_age", "eligibility_description", "url",
                "fees_description", "description"),
    "location": ("name", "latitude", "longitude", "location_type", "url"),
    "address": ("address_1", "city", "state_province", "postal_code", "country", "address_type"),
    "phone": ("number", "extension", "type"),
    "schedule": ("freq", "byday", "opens_at", "closes_at", "valid_from", "valid_to", "description"),
    "language": ("name", "code", "note"),
}
LINKS = {
    "organization": {"id": "o1"},
    "service": {"id": "s1", "organization_id": "o1"},
    "location": {"id": "l1", "organization_id": "o1"},
    "service_at_location": {"id": "sal1", "service_id": "s1", "location_id": "l1"},
    "address": {"id": "a1", "location_id": "l1"},
    "phone": {"id": "p1", "service_id": "s1"},
    "schedule": {"id": "sc1", "service_id": "s1"},
    "language": {"id": "lg1", "service_id": "s1"},
}


def cell(fdp: atheris.FuzzedDataProvider) -> str | None:
    if fdp.ConsumeBool():
        return fdp.PickValueInList(NUMBERS) or None
    return harness.maybe_text(fdp, 60)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    records = DirectoryRecords("fuzz", "fuzz")
    for table, links in LINKS.items():
        row = {**links, **{f: cell(fdp) for f in FUZZED.get(table, ())}, SOURCE: f"{table}.csv line 2"}
        records.tables[table] = TableRecords(table, tuple(k for k in row if k != SOURCE), [row], f"{table}.csv")
    with ENGINE.connect() as conn:
        transaction = conn.begin()
        try:
            DirectoryWriter(conn, ImportReport("fuzz", "fuzz", "fuzz")).write(records)
        finally:
            transaction.rollback()


if __name__ == "__main__":
    harness.fuzz(one_input)
