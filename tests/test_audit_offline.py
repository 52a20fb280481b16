"""scripts/audit-offline: the offline pip-audit over a local copy of the PyPA advisory database.

A fake database of two advisories (one live over a version range, one withdrawn) and a fake lock:
the script must report exactly the pin inside the live range, skip the withdrawn advisory, match
names per PEP 503, and exit 1 as pip-audit does; a lock with nothing affected exits 0.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "audit-offline"

LIVE = """\
id: PYSEC-2099-1
modified: 2099-01-02T00:00:00Z
aliases:
- CVE-2099-0001
affected:
- package:
    ecosystem: PyPI
    name: Fake_Web
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: 1.2.0
    - fixed: 1.4.1
  versions:
  - 1.2.0
  - 1.3.0
"""

WITHDRAWN = """\
id: PYSEC-2099-2
modified: 2099-01-03T00:00:00Z
withdrawn: 2099-01-04T00:00:00Z
aliases:
- CVE-2099-0002
affected:
- package:
    ecosystem: PyPI
    name: other-lib
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: "0"
"""

HASH = "    --hash=sha256:" + "0" * 64


def lock(path: Path, *pins: str) -> Path:
    path.write_text("# a lock\n" + "".join(f"{pin} \\\n{HASH}\n" for pin in pins))
    return path


def run(db: Path, *locks: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--advisory-db", str(db), *map(str, locks)],
                          capture_output=True, text=True, timeout=60)


def database(tmp_path: Path) -> Path:
    db = tmp_path / "advisory-database"
    (db / "vulns" / "fake-web").mkdir(parents=True)
    (db / "vulns" / "other-lib").mkdir(parents=True)
    (db / "vulns" / "fake-web" / "PYSEC-2099-1.yaml").write_text(LIVE)
    (db / "vulns" / "other-lib" / "PYSEC-2099-2.yaml").write_text(WITHDRAWN)
    return db


def test_finds_exactly_the_affected_pin_and_exits_1(tmp_path):
    db = database(tmp_path)
    # fake.web 1.3.5 is in [1.2.0, 1.4.1) though not in the versions list; other-lib is only
    # under the withdrawn advisory; unrelated has no advisory at all.
    result = run(db, lock(tmp_path / "requirements.lock",
                          "fake.web==1.3.5", "other-lib==0.1", "unrelated==2.0"))
    assert result.returncode == 1, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if "PYSEC-" in line]
    assert rows == [["fake.web", "1.3.5", "PYSEC-2099-1", "CVE-2099-0001", "1.4.1"]]
    assert "PYSEC-2099-2" not in result.stdout
    assert result.stdout.splitlines()[-1] == (
        "1 known vulnerabilities in 1 packages (advisory database of 2099-01-03T00:00:00Z)")


def test_clean_lock_exits_0(tmp_path):
    db = database(tmp_path)
    # 1.1.0 is below `introduced`, 1.4.1 is the fixed version itself.
    result = run(db, lock(tmp_path / "a.lock", "fake-web==1.1.0"),
                 lock(tmp_path / "b.lock", "Fake_Web==1.4.1", "other-lib==0.1"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PYSEC-" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith("0 known vulnerabilities in 0 packages")
