"""Building `DirectoryRecords` out of formats whose tables are not HSDS 3.0's (HSDS 1.x/2.0 CSV, Ohana
CSV, HSDS 3.0 JSON): rows are added one by one under HSDS 3.0 table and field names, rows that share
an id are merged, and the conversions every older format needs (weekly schedules, free-text
languages, addresses, taxonomy codes) live here once.
"""
from __future__ import annotations

import re
from pathlib import Path

from resources.importers.cleaning import fix_prose, normalise_time
from resources.importers.csv_files import read_csv
from resources.importers.hsds_records import (
    GENERATED,
    HSDS_FIELDS,
    SOURCE,
    DirectoryRecords,
    SkippedRow,
    TableRecords,
    generated_id,
)
from resources.taxonomy.languages import parse_language_codes, parse_languages

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAY_NAMES = {
    "monday": "MO", "mon": "MO", "tuesday": "TU", "tue": "TU", "tues": "TU", "wednesday": "WE", "wed": "WE",
    "thursday": "TH", "thu": "TH", "thur": "TH", "thurs": "TH", "friday": "FR", "fri": "FR",
    "saturday": "SA", "sat": "SA", "sunday": "SU", "sun": "SU",
}
# Codes that identify a term by themselves: AIRS/211 ("BH-1800.1500-100"), Open Eligibility ("1121"),
# Ohana's Open Eligibility copy ("101-04-01").
_TERM_CODE = re.compile(r"^(?:[A-Z]{1,2}(?:-\d{4}(?:\.\d{4}(?:-\d{3}(?:\.\d{2,3})?)?)?)?|\d{3,5}|\d{3}(?:-\d{2}){1,3})$")
# Prose fields that 211 exports fill with literal "\n" and garbled punctuation.
PROSE_FIELDS = {"description", "alternate_name", "name", "application_process", "fees_description",
                "eligibility_description", "interpretation_services", "wait_time", "transportation", "alert",
                "attention"}


def weekday_code(value: str | None) -> str | None:
    """"Monday", "mon", "MO" or an ISO weekday number (1 = Monday ... 7 = Sunday; 0 = Sunday) -> "MO"."""
    if not value:
        return None
    text = value.strip().lower().rstrip(".")
    if text.isdecimal():  # not isdigit(): "²" is a digit that int() refuses
        n = int(text)
        return WEEKDAYS[(n - 1) % 7] if 0 <= n <= 7 else None
    return _WEEKDAY_NAMES.get(text) or (text.upper() if text.upper() in WEEKDAYS else None)


def term_code(term_id: str | None) -> str | None:
    """The id itself when it is a taxonomy code (1.x/2.0 exports use codes as term ids)."""
    return term_id if term_id and _TERM_CODE.match(term_id.strip()) else None


def slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))[:80] or "x"


def read_rows(path: Path, notes: list[str], encoding: str) -> list[dict]:
    """Every row of a CSV file as a dict over its whole (lower-cased) header, with SOURCE."""
    table = read_csv(path, notes, encoding)
    index: dict[str, int] = {}
    for i, name in enumerate(table.header):
        index.setdefault(name, i)
    return [{**{name: cells[i] for name, i in index.items()}, SOURCE: f"{path.name} line {line}"}
            for line, cells in table.rows]


class RecordsBuilder:
    """Collects HSDS 3.0 rows from any source, under HSDS 3.0 table and field names."""

    def __init__(self, format: str, dataset: str | None, *, merge_duplicates: bool = False):
        """`merge_duplicates`: rows of a table with the same id are one entity met several times (as in
        nested JSON) and are merged; otherwise they are kept, and the writer reports the duplicates.
        Rows with generated ids are always merged."""
        self.merge_duplicates = merge_duplicates
        self.format = format
        self.dataset = dataset
        self.notes: list[str] = []
        self.skipped: list[SkippedRow] = []
        self.rows: dict[str, list[dict]] = {t: [] for t in HSDS_FIELDS}
        self.by_id: dict[str, dict[str, dict]] = {t: {} for t in HSDS_FIELDS}
        self.sources: dict[str, list[str]] = {t: [] for t in HSDS_FIELDS}
        self.generated_owners: dict[str, dict[str, set[str]]] = {t: {} for t in HSDS_FIELDS}
        self._counters: dict[tuple[str, str], int] = {}

    def add(self, table: str, row: dict, source: str, *, prose: bool = False) -> dict:
        """Add (or merge into the row with the same id) a row of HSDS 3.0 fields; returns the stored row."""
        fields = HSDS_FIELDS[table]
        clean = {k: (fix_prose(v) if prose and k in PROSE_FIELDS and isinstance(v, str) else v)
                 for k, v in row.items() if k in fields}
        file = source.split(" ")[0]
        if file not in self.sources[table]:
            self.sources[table].append(file)
        row_id = clean.get("id")
        mergeable = self.merge_duplicates or (row_id or "").startswith(GENERATED)
        if row_id and mergeable and row_id in self.by_id[table]:
            kept = self.by_id[table][row_id]
            for k, v in clean.items():
                if v not in (None, "") and kept.get(k) in (None, ""):
                    kept[k] = v
            return kept
        clean[SOURCE] = source
        self.rows[table].append(clean)
        if row_id and mergeable:
            self.by_id[table][row_id] = clean
        return clean

    def skip(self, table: str, row: dict, reason: str) -> None:
        self.skipped.append(SkippedRow(table, row.get(SOURCE, table), row.get("id") or None, reason))

    def own_generated(self, table: str, owner_field: str, owner_ids) -> None:
        """This import describes every generated `table` row of these owners (stale ones are removed)."""
        self.generated_owners[table].setdefault(owner_field, set()).update(i for i in owner_ids if i)

    # --- conversions shared by the older formats ---

    def add_weekly_schedule(self, row: dict, owners: dict[str, str | None]) -> None:
        """An HSDS 1.x / Ohana regular_schedule row (weekday, opens_at, closes_at[, original_text]).

        Times are normalised ("9:00am" -> "09:00"); when they cannot be read, the original prose is
        kept as the schedule's description, which is what the person is shown.
        """
        day = weekday_code(row.get("weekday"))
        opens, closes = normalise_time(row.get("opens_at")), normalise_time(row.get("closes_at"))
        prose = fix_prose(row.get("original_text") or row.get("description"))
        structured = bool(day and opens and closes)
        if not structured and not prose:
            raw = " ".join(p for p in (row.get("weekday"), "-".join(filter(None, (row.get("opens_at"),
                                                                                  row.get("closes_at"))))) if p)
            prose = raw or None
        if not day and not prose:
            self.skip("schedule", row, "no weekday and no hours")
            return
        owner_field, owner = next(((f, v) for f, v in owners.items() if v), (None, None))
        row_id = row.get("id")
        if not row_id and owner:
            n = self._counters[(owner_field, owner)] = self._counters.get((owner_field, owner), 0) + 1
            row_id = generated_id("schedule", owner_field.removesuffix("_id"), owner, n)
            self.own_generated("schedule", owner_field, [owner])
        self.add("schedule", {
            "id": row_id, **owners, "freq": "WEEKLY" if day else None, "byday": day,
            "opens_at": opens if structured else None, "closes_at": closes if structured else None,
            "description": None if structured else prose, "notes": prose if structured else None,
        }, row[SOURCE])

    def add_languages(self, text: str | None, owners: dict[str, str | None], source: str,
                      row_id: str | None = None, *, codes: bool = False) -> None:
        """Language rows for a free-text cell ("English and Spanish", "Creole (limited)") or, with
        `codes`, a code list ("en, es"); the original text is kept as each row's note."""
        found = parse_language_codes(text) if codes else parse_languages(text)
        owner_key = ":".join(str(owners.get(f) or "-") for f in ("service_id", "location_id", "phone_id"))
        original = " ".join((text or "").split())
        for lang in found:
            lid = row_id if row_id and len(found) == 1 else generated_id("language", owner_key,
                                                                         lang.code or slug(lang.name))
            note = original if original and original != lang.name and not codes else None
            self.add("language", {"id": lid, **owners, "name": lang.name, "code": lang.code, "note": note}, source)

    def add_address(self, row: dict, location_id: str | None, address_type: str, row_id: str | None) -> None:
        extra = ", ".join(filter(None, (row.get("address_2"), row.get("address_3"), row.get("address_4"))))
        self.add("address", {
            "id": row_id, "location_id": location_id, "attention": row.get("attention"),
            "address_1": row.get("address_1"), "address_2": extra or None, "city": row.get("city"),
            "region": row.get("region"), "state_province": row.get("state_province"),
            "postal_code": row.get("postal_code"), "country": row.get("country"), "address_type": address_type,
        }, row[SOURCE], prose=True)

    def add_addresses(self, physical: list[dict], postal: list[dict]) -> None:
        """Physical and postal addresses of pre-3.0 exports, which number them separately: a postal
        address whose id a physical one already uses gets the id `postal:<id>`."""
        physical_ids = {r.get("id") for r in physical if r.get("id")}
        for r in physical:
            self.add_address(r, r.get("location_id"), "physical", r.get("id"))
        for r in postal:
            rid = r.get("id")
            self.add_address(r, r.get("location_id"), "postal", f"postal:{rid}" if rid in physical_ids else rid)

    def build(self) -> DirectoryRecords:
        records = DirectoryRecords(self.format, self.dataset, notes=list(self.notes), skipped=list(self.skipped))
        for table, rows in self.rows.items():
            if not rows:
                continue
            present = {k for r in rows for k in r if k != SOURCE}
            columns = tuple(f for f in HSDS_FIELDS[table] if f in present)
            for r in rows:
                for c in columns:
                    r.setdefault(c, None)
            records.tables[table] = TableRecords(table, columns, rows, ", ".join(self.sources[table]),
                                                 generated_owners=self.generated_owners[table])
        return records


def note_unused_files(folder: Path, used: set[Path], notes: list[str]) -> None:
    """Tell the person which files of the export the navigator does not read (contacts, funding...)."""
    unused = sorted(p.name for base in (folder, folder / "data") if base.is_dir()
                    for p in base.glob("*.csv") if p.resolve() not in used)
    if unused:
        notes.append("not used by the navigator: " + ", ".join(unused))
