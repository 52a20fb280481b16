"""Reading the CSV files and datapackage.json of a tabular directory export, defensively.

Real exports come with BOMs, padded cells and listed-but-absent files; what can be read is read (with
a note), and what cannot (broken quoting, bytes that are not text in the expected encoding) raises
HsdsImportError naming the file and line.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from resources.importers.hsds_records import SOURCE, HsdsImportError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long prose descriptions
DEFAULT_ENCODING = "utf-8"


@dataclass
class CsvTable:
    header: list[str]  # lower-cased, trimmed
    rows: list[tuple[int, list[str | None]]]  # (line number, cells trimmed, empty -> None)


def _decode(path: Path, notes: list[str], encoding: str = DEFAULT_ENCODING) -> str:
    """The file's text. UTF-8 (with or without BOM) unless the person importing names another encoding:
    guessing would silently garble names and phone numbers, so a file that is not valid in the expected
    encoding is an error that says where and how to fix it."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise HsdsImportError(f"{path.name} is UTF-16 text; save it as UTF-8 CSV and import again")
    if b"\x00" in data:
        raise HsdsImportError(f"{path.name} is not a CSV text file (it contains NUL bytes)")
    codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
    try:
        text = data.decode(codec)
    except LookupError:
        raise HsdsImportError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        hint = (" If it was saved as Windows-1252 (\"ANSI\"), import it with --encoding cp1252, or save it as "
                "UTF-8 first." if codec == "utf-8-sig" else "")
        raise HsdsImportError(f"{path.name} line {line}: byte 0x{data[e.start]:02x} is not valid {encoding} text."
                              + hint) from None
    if codec != "utf-8-sig":
        notes.append(f"{path.name} read as {encoding}")
    return text


def clean(value: str | None) -> str | None:
    """Trim a cell; an empty one is None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def read_csv(path: Path, notes: list[str], encoding: str = DEFAULT_ENCODING) -> CsvTable:
    """All rows of a CSV file with a header row; raises HsdsImportError if it cannot be parsed."""
    try:
        text = _decode(path, notes, encoding)
    except OSError as e:
        raise HsdsImportError(f"cannot read {path}: {e.strerror or e}") from e
    # strict: a stray quote is an error, not a field that silently swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise HsdsImportError(f"{path.name} has no header row")
        header = [h.strip().lower().lstrip("\ufeff") for h in header]
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                raise HsdsImportError(f"{path.name} line {reader.line_num}: {len(cells)} values but the header has "
                                      f"{len(header)} columns (a comma or quote out of place?)")
            cells = (cells + [""] * len(header))[:len(header)]
            rows.append((reader.line_num, [clean(c) for c in cells]))
    except csv.Error as e:
        raise HsdsImportError(f"{path.name} line {reader.line_num}: not valid CSV ({e})") from e
    return CsvTable(header, rows)


def table_rows(csv_table: CsvTable, fields: tuple[str, ...], file_name: str) -> tuple[tuple[str, ...], list[dict]]:
    """The columns of `fields` the file has, and its rows as dicts over them (with SOURCE)."""
    index = {}
    for i, name in enumerate(csv_table.header):
        if name in fields and name not in index:
            index[name] = i
    columns = tuple(f for f in fields if f in index)
    rows = []
    for line, cells in csv_table.rows:
        row = {c: cells[index[c]] for c in columns}
        row[SOURCE] = f"{file_name} line {line}"
        rows.append(row)
    return columns, rows


@dataclass
class PackageResource:
    name: str
    paths: list[Path]


def read_datapackage(folder: Path) -> tuple[dict, list[PackageResource]]:
    """The descriptor of `folder/datapackage.json` and its resources with paths inside the folder."""
    path = folder / "datapackage.json"
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise HsdsImportError(f"{path} is not readable JSON: {e}") from e
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise HsdsImportError(f"{path} has no list of resources")
    resources = []
    root = folder.resolve()
    for res in descriptor["resources"]:
        if not isinstance(res, dict) or not res.get("name"):
            continue
        raw = res.get("path")
        raw_paths = raw if isinstance(raw, list) else [raw] if raw else []
        paths = []
        for p in raw_paths:
            if not isinstance(p, str) or "://" in p:
                raise HsdsImportError(f"{path}: resource {res['name']!r} is not a local file ({p!r})")
            try:
                full = (folder / p).resolve()
                full.is_file()  # a name no file system takes (a NUL byte, too long) fails here, not later
            except (OSError, RuntimeError, ValueError) as e:  # RuntimeError: a symlink loop
                raise HsdsImportError(f"{path}: resource {res['name']!r} has a path that cannot be a file here "
                                      f"({p[:80]!r}: {e})") from None
            if root not in full.parents:
                raise HsdsImportError(f"{path}: resource {res['name']!r} points outside the folder ({p})")
            paths.append(full)
        resources.append(PackageResource(str(res["name"]).strip().lower(), paths))
    return descriptor, resources


def read_header(path: Path) -> list[str]:
    """The lower-cased header of a CSV file (empty if unreadable): lets readers tell formats apart cheaply."""
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
            return [h.strip().lower() for h in next(csv.reader(f), [])]
    except (OSError, csv.Error):
        return []


def find_table_files(folder: Path, tables: dict[str, tuple[str, ...]], notes: list[str]
                     ) -> tuple[dict | None, dict[str, list[Path]]]:
    """The files of each table of a tabular export: from datapackage.json when there is one (resource
    names or file names), else by the usual file names, in the folder or its data/ sub-folder.

    `tables` maps a table name to its usual file names; the first name is also the resource name's
    singular form. A file the datapackage lists but that is absent is noted, not fatal.
    """
    descriptor, files = None, {}
    by_file = {name: table for table, names in tables.items() for name in names}
    if (folder / "datapackage.json").is_file():
        descriptor, resources = read_datapackage(folder)
        for res in resources:
            # Exports zipped from a data/ folder often list "x.csv" for "data/x.csv".
            paths = [p if p.is_file() or not (folder / "data" / p.name).is_file() else folder / "data" / p.name
                     for p in res.paths]
            for p in paths:
                if not p.is_file():
                    notes.append(f"datapackage.json lists {p.name} ({res.name}), but the file is absent")
            singular = res.name[:-1] if res.name.endswith("s") else res.name
            table = (res.name if res.name in tables else singular if singular in tables
                     else next((by_file[p.name.lower()] for p in paths if p.name.lower() in by_file), None))
            present = [p for p in paths if p.is_file()]
            if table is not None and present:
                files.setdefault(table, []).extend(present)
    for table, names in tables.items():
        if table in files:
            continue
        for base in (folder, folder / "data"):
            found = next((base / n for n in names if (base / n).is_file()), None)
            if found:
                files[table] = [found]
                break
    return descriptor, files


# The name in Open Referral's datapackage template, which many exports never change.
TEMPLATE_DATASET_NAMES = {"human_services_data"}


def dataset_name(descriptor: dict | None, folder: Path) -> str:
    """What an export is called in the directory's bookkeeping and stats: its datapackage's name,
    unless that is the template's own (then two exports would look like one), else its folder's."""
    name = str((descriptor or {}).get("name") or "").strip()
    return name if name and name not in TEMPLATE_DATASET_NAMES else folder.resolve().name
