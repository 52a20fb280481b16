"""Reading the CSV files and datapackage.json of a tabular directory export, defensively.

Real exports come with BOMs, Windows-1252 bytes, padded cells and listed-but-absent files; what can
be read is read (with a note), and what cannot raises HsdsImportError naming the file.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from resources.hsds_records import SOURCE, HsdsImportError

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long prose descriptions


@dataclass
class CsvTable:
    header: list[str]  # lower-cased, trimmed
    rows: list[tuple[int, list[str | None]]]  # (line number, cells trimmed, empty -> None)


def _decode(path: Path, notes: list[str]) -> str:
    data = path.read_bytes()
    if b"\x00" in data:
        raise HsdsImportError(f"{path.name} is not a CSV text file (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        notes.append(f"{path.name} is not UTF-8; read it as Windows-1252")
        return data.decode("cp1252", errors="replace")


def clean(value: str | None) -> str | None:
    """Trim a cell; an empty one is None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def read_csv(path: Path, notes: list[str]) -> CsvTable:
    """All rows of a CSV file with a header row; raises HsdsImportError if it cannot be parsed."""
    try:
        text = _decode(path, notes)
    except OSError as e:
        raise HsdsImportError(f"cannot read {path}: {e.strerror or e}") from e
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise HsdsImportError(f"{path.name} has no header row")
        header = [h.strip().lower().lstrip("\ufeff") for h in header]
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
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
            full = (folder / p).resolve()
            if root not in full.parents:
                raise HsdsImportError(f"{path}: resource {res['name']!r} points outside the folder ({p})")
            paths.append(full)
        resources.append(PackageResource(str(res["name"]).strip().lower(), paths))
    return descriptor, resources
