"""`import_hsds`: an Open Referral directory export into the directory, in one transaction.

Reading and writing are separate steps: a reader for the input's format turns it into
`DirectoryRecords` (so every file is read and parsed before the database is touched), then
`DirectoryWriter` stores them. Each format is a reader in READERS (HSDS 3.0 CSV and JSON, HSDS 2.0
and 1.x CSV, Ohana CSV); the writer, the checks and the report are the same for all.

A folder that is not an export itself but holds exports in its sub-folders (as the Open Referral
samples do: csv/ and json/) is imported as all of them, still in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from infra.db import get_engine
from resources.importers import hsds3_csv, hsds3_json, hsds_legacy_csv, ohana_csv
from resources.importers.directory_writer import DirectoryWriter
from resources.importers.hsds_records import (
    GENERATED,
    DirectoryRecords,
    HsdsImportError,
    ImportReport,
    SkippedRow,
    TableRecords,
)
from resources.importers.progress import NoProgress, Progress
from resources.models import Service
from resources.search import index as search_index
from resources.taxonomy import kinds

__all__ = ["import_hsds", "read_exports", "reindex_directory", "prefix_ids", "HsdsImportError",
           "ImportReport", "SkippedRow", "READERS"]


@dataclass(frozen=True)
class Reader:
    format: str
    detect: Callable[[Path], bool]
    read: Callable[..., DirectoryRecords]  # read(path, encoding)


# Order matters: the first reader that recognises the input reads it.
READERS: list[Reader] = [
    Reader(ohana_csv.FORMAT, ohana_csv.detect, ohana_csv.read),
    Reader("HSDS 1.x/2.0 CSV", hsds_legacy_csv.detect, hsds_legacy_csv.read),
    Reader(hsds3_csv.FORMAT, hsds3_csv.detect, hsds3_csv.read),
    Reader(hsds3_json.FORMAT, hsds3_json.detect, hsds3_json.read),
]


def _reader_for(path: Path) -> Reader | None:
    return next((r for r in READERS if r.detect(path)), None)


def read_exports(path: str | Path, encoding: str = "utf-8") -> list[DirectoryRecords]:
    """Every export at `path` (itself, or each sub-folder holding one), read and parsed.

    Raises HsdsImportError when nothing there can be read as a directory, or any file is unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise HsdsImportError(f"{path}: no such file or folder")
    if path.is_file() and path.name.lower() == "datapackage.json":
        path = path.parent
    reader = _reader_for(path)
    if reader:
        return [reader.read(path, encoding)]
    if path.is_file():
        raise HsdsImportError(f"{path}: give the folder that holds the CSV files (and datapackage.json), "
                              "or an HSDS 3.0 JSON file")
    parts = [(sub, _reader_for(sub)) for sub in sorted(p for p in path.iterdir() if p.is_dir())]
    parts = [(sub, r) for sub, r in parts if r]
    if not parts:
        raise HsdsImportError(f"{path}: no HSDS files found (expected datapackage.json or services.csv, "
                              "organizations.csv, ... or HSDS 3.0 JSON files)")
    exports = []
    for sub, r in parts:
        records = r.read(sub, encoding)
        records.notes.insert(0, f"{sub.name}/: {records.format}")
        exports.append(records)
    return exports


def prefix_ids(records: DirectoryRecords, prefix: str) -> DirectoryRecords:
    """The same records with every id and link prefixed, so two exports that both number their rows
    1, 2, 3... can live in one directory ("miami:1", "ohana:1")."""
    def fix(value: str | None) -> str | None:
        if not value:
            return value
        return GENERATED + prefix + value[len(GENERATED):] if value.startswith(GENERATED) else prefix + value

    tables = {}
    for name, data in records.tables.items():
        id_fields = [c for c in data.columns if c == "id" or c.endswith("_id")]
        rows = [{**row, **{f: fix(row.get(f)) for f in id_fields}} for row in data.rows]
        owners = {f: {fix(i) for i in ids} for f, ids in data.generated_owners.items()}
        tables[name] = TableRecords(name, data.columns, rows, data.source, generated_owners=owners)
    return replace(records, tables=tables, notes=[*records.notes, f"ids prefixed with {prefix!r}"])


def import_hsds(path: str | Path, engine: Engine | None = None, *, demo: bool = False, encoding: str = "utf-8",
                id_prefix: str | None = None, progress: Progress | None = None) -> ImportReport:
    """Insert or update (by id) every usable row of the export(s) at `path`, in one transaction.

    Unreadable input raises HsdsImportError and changes nothing. Unusable rows are skipped and
    listed in the report. Importing an agency's own directory (`demo=False`) first removes any demo
    rows, so demo services never mix with real ones. `id_prefix` namespaces the export's ids.
    """
    progress = progress or NoProgress()
    progress.stage("reading files")
    exports = read_exports(path, encoding)
    if id_prefix:
        exports = [prefix_ids(e, id_prefix) for e in exports]
    if engine is None:
        engine = get_engine()
    report = ImportReport(str(path), " + ".join(dict.fromkeys(e.format for e in exports)),
                          " + ".join(dict.fromkeys(e.dataset or "" for e in exports)))
    for e in exports:
        report.notes.extend(e.notes)
        report.skipped.extend(e.skipped)
    try:
        with engine.begin() as conn:
            DirectoryWriter(conn, report, demo=demo, progress=progress).write(*exports)
    except SQLAlchemyError as e:
        raise HsdsImportError(f"could not write to the directory database, nothing was changed: "
                              f"{type(e).__name__}: {str(e).splitlines()[0][:300]}") from e
    finally:
        progress.close()
    return report


def reindex_directory(engine: Engine | None = None, progress: Progress | None = None) -> dict[str, int]:
    """Recompute every service's kinds, tags and search rows (after the rules in resources/taxonomy/data/
    change), in one transaction; returns services per KIND."""
    if engine is None:
        engine = get_engine()
    progress = progress or NoProgress()
    try:
        with engine.begin() as conn:
            ids = conn.execute(select(Service.id)).scalars().all()
            progress.stage("classifying services", len(ids))
            counts, _ = kinds.refresh_service_kinds(conn, ids, progress)
            progress.stage("indexing for search", len(ids))
            search_index.refresh_search_points(conn, ids, progress)
    finally:
        progress.close()
    return counts
