"""`import_hsds`: an Open Referral directory export into the directory, in one transaction.

Reading and writing are separate steps: a reader for the input's format turns it into
`DirectoryRecords` (so every file is read and parsed before the database is touched), then
`DirectoryWriter` stores them. A new format (HSDS 2.0/1.1 CSV, 3.0 JSON, Ohana CSV) is a new reader
added to READERS; the writer, the checks and the report stay the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from resources import hsds3_csv
from resources.directory_writer import DirectoryWriter
from resources.hsds_records import DirectoryRecords, HsdsImportError, ImportReport, SkippedRow

__all__ = ["import_hsds", "read_directory", "HsdsImportError", "ImportReport", "SkippedRow", "READERS"]


@dataclass(frozen=True)
class Reader:
    format: str
    detect: Callable[[Path], bool]
    read: Callable[[Path], DirectoryRecords]


READERS: list[Reader] = [Reader(hsds3_csv.FORMAT, hsds3_csv.detect, hsds3_csv.read)]


def _unsupported_reason(path: Path) -> str:
    if path.is_file() and path.suffix.lower() == ".json":
        return "HSDS 3.0 JSON files cannot be imported yet; export the directory as an HSDS 3.0 CSV datapackage"
    if path.is_file():
        return "give the folder that holds the CSV files (and datapackage.json), not a single file"
    if hsds3_csv.looks_like_older_hsds(path):
        return ("this looks like an HSDS 1.x/2.0 export, which cannot be imported yet; "
                "export the directory as HSDS 3.0 CSV")
    return "no HSDS files found (expected datapackage.json or services.csv, organizations.csv, ...)"


def read_directory(path: str | Path) -> DirectoryRecords:
    """Read an export with the first reader that recognises it; raises HsdsImportError if none does."""
    path = Path(path)
    if not path.exists():
        raise HsdsImportError(f"{path}: no such file or folder")
    if path.is_file() and path.name.lower() == "datapackage.json":
        path = path.parent
    for reader in READERS:
        if reader.detect(path):
            return reader.read(path)
    raise HsdsImportError(f"{path}: {_unsupported_reason(path)}")


def import_hsds(path: str | Path, engine: Engine | None = None, *, demo: bool = False) -> ImportReport:
    """Insert or update (by id) every usable row of the export at `path`, in one transaction.

    Unreadable input raises HsdsImportError and changes nothing. Unusable rows are skipped and
    listed in the report. Importing an agency's own directory (`demo=False`) first removes any demo
    rows, so demo services never mix with real ones.
    """
    records = read_directory(path)
    if engine is None:
        from navigator.db import get_engine
        engine = get_engine()
    report = ImportReport(str(path), records.format, records.dataset, notes=list(records.notes))
    try:
        with engine.begin() as conn:
            DirectoryWriter(conn, report, demo=demo).write(records)
    except SQLAlchemyError as e:
        raise HsdsImportError(f"could not write to the directory database, nothing was changed: {e}") from e
    return report
