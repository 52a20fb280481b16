"""The common ground between directory readers and the one writer.

Every reader (HSDS 3.0 CSV and JSON, HSDS 2.0/1.x CSV, Ohana CSV) turns its input into
`DirectoryRecords`: HSDS 3.0 table and field names, raw text values (trimmed, empty -> None), each
row remembering where it came from. The writer (`resources.importers.directory_writer`) validates, stores and
reports on them the same way whatever the source format was.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from resources.models import HSDS_MODELS

BOOKKEEPING = ("is_demo", "dataset", "imported_at")
# Table -> the HSDS 3.0 fields the directory stores (others in an export are ignored).
HSDS_FIELDS: dict[str, tuple[str, ...]] = {
    table: tuple(c.name for c in model.__table__.columns if c.name not in BOOKKEEPING)
    for table, model in HSDS_MODELS.items()
}
SOURCE = "_source"  # key on each row dict: where it came from, e.g. "services.csv line 4"
# Ids the readers make up for rows an export gives none (HSDS 1.x schedules, languages split from free
# text, Ohana keywords). They are derived from the owner's id, so a re-import updates the same rows.
GENERATED = "gen:"


def generated_id(table: str, *parts: object) -> str:
    """A stable made-up id: "gen:schedule:service:136:2"."""
    return GENERATED + ":".join([table, *(str(p) for p in parts)])


class HsdsImportError(Exception):
    """The input cannot be read as a directory; nothing was changed."""


@dataclass
class TableRecords:
    """Rows of one HSDS table. Every row dict has exactly `columns` (plus SOURCE)."""

    table: str
    columns: tuple[str, ...]  # the fields the source provides; others are left as they are on update
    rows: list[dict]
    source: str  # file name, for messages
    # owner field -> owner ids whose generated rows (GENERATED ids) this import describes completely:
    # generated rows of those owners that the import no longer has are deleted (stale hours, languages).
    generated_owners: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class DirectoryRecords:
    format: str  # e.g. "HSDS 3.0 CSV"
    dataset: str | None  # the datapackage's name, else the folder's
    tables: dict[str, TableRecords] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # things worth telling the person importing
    skipped: list["SkippedRow"] = field(default_factory=list)  # rows the reader could not use


@dataclass
class SkippedRow:
    table: str
    source: str
    row_id: str | None
    reason: str

    def __str__(self) -> str:
        ident = f" (id {self.row_id})" if self.row_id else ""
        return f"{self.source}{ident}: {self.reason}"


@dataclass
class ImportReport:
    path: str
    format: str
    dataset: str | None
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    skipped: list[SkippedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # rows kept with a field cleared or trimmed
    notes: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)  # imported services per KIND
    tags: dict[str, int] = field(default_factory=dict)  # imported services per tag
    geocoded: dict[str, int] = field(default_factory=dict)  # locations placed by "zip", "city", or "none"
    removed_demo_services: int = 0

    @property
    def imported(self) -> dict[str, int]:
        """Rows written per table (inserted + updated), in table order."""
        return {t: self.inserted.get(t, 0) + self.updated.get(t, 0)
                for t in HSDS_FIELDS if t in self.inserted or t in self.updated}

    def skip(self, table: str, row: dict, reason: str) -> None:
        self.skipped.append(SkippedRow(table, row.get(SOURCE, table), row.get("id"), reason))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["imported"] = self.imported
        data["skipped"] = [asdict(s) for s in self.skipped]
        return data
