"""Fuzz the importer's file readers: the bytes of a CSV file (resources.importers.csv_files), of an HSDS 3.0
JSON file (resources.importers.hsds3_json), of a datapackage.json, and whole export folders in every format
`navigator import-hsds` detects (resources.importers.hsds_import.read_exports).

    .venv/bin/python benchmarks/fuzz/fuzz_files.py -max_total_time=300

Allowed outcomes: records, or HsdsImportError (CONTRACT: unreadable input is a clear error). Files
are written to /dev/shm/navigator-fuzz-files (RAM), emptied when a run starts.
"""
import shutil
import tempfile
from pathlib import Path

import atheris
import harness  # noqa: F401  (first: sys.path, defaults)

with harness.instrumented():
    from resources.importers import hsds3_json
    from resources.importers.csv_files import read_csv
    from resources.importers.hsds_import import read_exports
    from resources.importers.hsds_records import HsdsImportError

# libFuzzer ends the process itself, so the folder is emptied at start, not at exit.
SCRATCH = Path("/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir()) / "navigator-fuzz-files"
shutil.rmtree(SCRATCH, ignore_errors=True)
FILE_NAMES = ["services.csv", "organizations.csv", "locations.csv", "phones.csv", "schedules.csv",
              "regular_schedules.csv", "physical_addresses.csv", "mail_addresses.csv", "languages.csv",
              "taxonomy.csv", "datapackage.json", "services.json"]
HEADERS = [b"", b"id,name,status\n", b"id,name,status,location_id,keywords,languages\n",
           b"id,service_id,weekday,opens_at,closes_at,original_text\n", b"id,name,description,fees\n"]
ENCODINGS = ["utf-8", "cp1252", "utf-16", "no-such-codec"]


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    encoding = fdp.PickValueInList(ENCODINGS)
    folder = SCRATCH / "export"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        name = fdp.PickValueInList(FILE_NAMES)
        header = b"" if name.endswith(".json") else fdp.PickValueInList(HEADERS)
        (folder / name).write_bytes(header + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 400)))
    for read, path in ((read_exports, folder), (read_csv, folder / "services.csv"),
                       (hsds3_json.read, folder / "services.json")):
        if not path.exists():
            continue
        try:
            read(path, [], encoding) if read is read_csv else read(path, encoding)
        except HsdsImportError as error:
            assert str(error)


if __name__ == "__main__":
    harness.fuzz(one_input)
