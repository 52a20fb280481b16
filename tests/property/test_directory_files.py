"""Whatever bytes an agency hands `navigator import-hsds`, the readers answer records or the one
documented error, HsdsImportError, with a message the person importing can act on (CONTRACT:
"unreadable input is a clear error and a non-zero exit"): never a traceback."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from resources.importers import hsds3_json
from resources.importers.csv_files import read_csv, read_datapackage
from resources.importers.hsds_import import read_exports
from resources.importers.hsds_records import HSDS_FIELDS, DirectoryRecords, HsdsImportError
from tests.property.strategies import CELL_WORDS, PARSERS

KEYS = sorted({f for fields in HSDS_FIELDS.values() for f in fields} | {
    "services", "locations", "phones", "schedules", "languages", "addresses", "attributes", "contents",
    "organization", "service", "location", "taxonomy_term", "taxonomy_detail", "service_at_locations",
    "services.csv", "phones.csv", "resources", "path", "name", "version"})
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                    st.sampled_from(CELL_WORDS))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5)), max_leaves=30)


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory(prefix="navigator-property-") as folder:
        yield Path(folder)


def expect_records_or_import_error(read, *args):
    try:
        return read(*args)
    except HsdsImportError as error:
        assert str(error)
        return None


@PARSERS
@given(JSON_VALUES)
@example({"contents": [{"id": "s1", "name": "Shelter", "status": "active", "phones": [{"id": "p1"}]}]})
@example({"services.csv": [{"id": 1.0, "name": None}], "phones.csv": "not a list"})
def test_any_json_document_reads_as_records_or_the_import_error(scratch, document):
    path = scratch / "services.json"
    path.write_text(json.dumps(document))
    records = expect_records_or_import_error(hsds3_json.read, path)
    assert records is None or isinstance(records, DirectoryRecords) and records.tables


ENCODINGS = st.sampled_from(["utf-8", "cp1252", "latin-1", "utf-16", "no-such-codec"])


@PARSERS
@given(st.binary(max_size=300), ENCODINGS)
@example(b"[" * 100_000, "utf-8")  # nesting deeper than Python's recursion limit
@example(b"[" * 900 + b"]" * 900, "utf-8")  # parses, but deep for the reader too
@example(b"1" * 5000, "utf-8")  # a number longer than Python converts to int
@example(b"\xff\xfe{}", "utf-8")
@example(b"{}", "no-such-codec")
def test_any_bytes_in_a_json_file_read_as_records_or_the_import_error(scratch, data, encoding):
    path = scratch / "services.json"
    path.write_bytes(data)
    expect_records_or_import_error(hsds3_json.read, path, encoding)


CSV_TEXT = st.lists(st.one_of(st.sampled_from(["id", "name", "status", ",", "\"", "\n", "\r", "\r\n", "\x00",
                                               "\ufeff", "a", "1", " "]), st.text(max_size=5)),
                    max_size=40).map("".join)


@PARSERS
@given(st.one_of(st.binary(max_size=200), CSV_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass"))),
       ENCODINGS)
@example(b"id,name\r\n1,\"unclosed\r\n", "utf-8")
@example(b"\xef\xbb\xbfid,name\n1,a,b,c\n", "utf-8")
def test_any_csv_file_reads_as_rows_or_the_import_error(scratch, data, encoding):
    path = scratch / "services.csv"
    path.write_bytes(data)
    table = expect_records_or_import_error(read_csv, path, [], encoding)
    if table is not None:
        assert all(len(cells) == len(table.header) for _, cells in table.rows)


@PARSERS
@given(JSON_VALUES)
@example({"resources": [{"name": "services", "path": "services\u0000.csv"}]})
@example({"resources": [{"name": "services", "path": "../../etc/passwd"}]})
@example({"resources": [{"name": "services", "path": "x" * 5000}]})
def test_any_datapackage_json_reads_as_resources_or_the_import_error(scratch, document):
    (scratch / "datapackage.json").write_text(json.dumps(document))
    found = expect_records_or_import_error(read_datapackage, scratch)
    if found is not None:
        for resource in found[1]:
            assert all(scratch.resolve() in p.parents for p in resource.paths)


@PARSERS
@given(st.dictionaries(st.sampled_from(["services.csv", "organizations.csv", "locations.csv",
                                        "regular_schedules.csv", "physical_addresses.csv", "phones.csv",
                                        "mail_addresses.csv", "languages.csv"]),
                       CSV_TEXT, min_size=1, max_size=3),
       st.sampled_from(["id,name,status,weekday,opens_at,closes_at,service_id,location_id,language,keywords\n",
                        "id,name\n", ""]))
@example({"regular_schedules.csv": "s1,x,active,\u00b2,9,5,s1,,,\n", "services.csv": "s1,x,active,,,,,,,\n"},
         "id,name,status,weekday,opens_at,closes_at,service_id,location_id,language,keywords\n")
def test_any_export_folder_reads_as_records_or_the_import_error(tmp_path_factory, files, header):
    folder = tmp_path_factory.mktemp("export")
    for name, body in files.items():
        (folder / name).write_text(header + body, encoding="utf-8", errors="surrogatepass")
    exports = expect_records_or_import_error(read_exports, folder)
    assert exports is None or all(isinstance(e, DirectoryRecords) for e in exports)
