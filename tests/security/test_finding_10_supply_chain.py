"""Finding 10 (issue 14), its supply-chain part: requirements.lock had no hashes, so pip installed
whatever file an index or a local package folder served under a pinned name; and pytest, atheris
and playwright were installed in the production environment.

The attack, performed here: a mirror (or a writable local package folder) serves a tampered
wheel under the exact name and version the runtime lock pins (six 1.17.0, whose code every Rasa
process imports), and pip installs the lock's entry for it with the very options `make setup`
uses; and a production `make setup` is asked what it would install.

What must happen: pip refuses the tampered file (its sha256 is not one the lock lists) and
installs nothing; the production install reads no lock that holds a test tool, and the tools
themselves are in no lock it reads.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import zipfile

from infra.config import ROOT

TAMPERED = "raise SystemExit('tampered six: this code is not the published one')\n"


def make_setup_commands(**environment) -> list[str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("NAVIGATOR_ENV", "NAVIGATOR_PRODUCTION_INSTALL", "MAKEFLAGS", "MAKELEVEL")}
    env.update(environment)
    commands = subprocess.run(["make", "-n", "VENV=/nonexistent-venv", "setup"], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=True).stdout
    return [line for line in commands.splitlines() if " -m pip install" in line]


def lock_entry(name: str) -> str:
    """The lock's requirement for `name`, with its continuation (hash) lines."""
    match = re.search(rf"^{name}==.*?(?=^\S|\Z)", (ROOT / "requirements.lock").read_text(), re.M | re.S)
    assert match, f"{name} is not pinned in requirements.lock"
    return match.group(0)


def tampered_wheel(folder, version: str) -> None:
    """A valid wheel named like the real one, holding other code."""
    dist_info = f"six-{version}.dist-info"
    with zipfile.ZipFile(folder / f"six-{version}-py2.py3-none-any.whl", "w") as wheel:
        wheel.writestr("six.py", TAMPERED)
        wheel.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: six\nVersion: {version}\n")
        wheel.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: attacker\nRoot-Is-Purelib: true\n"
                                             "Tag: py2-none-any\nTag: py3-none-any\n")
        wheel.writestr(f"{dist_info}/RECORD", "")


def test_a_tampered_file_under_a_pinned_name_is_refused(tmp_path):
    entry = lock_entry("six")
    version = re.match(r"six==(\S+)", entry).group(1)
    served = tmp_path / "mirror"
    served.mkdir()
    tampered_wheel(served, version)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(entry)
    # The options `make setup` passes when it installs requirements.lock, minus where it installs to.
    install = next(command for command in make_setup_commands() if "-r requirements.lock" in command)
    options = [option for option in shlex.split(install.split(" -m pip install", 1)[1])
               if option not in ("--quiet", "-r") and not option.startswith("requirements")]
    target = tmp_path / "site-packages"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", *options, "--no-index", "--find-links", str(served),
         "--no-deps", "--target", str(target), "-r", str(requirements)],
        capture_output=True, text=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    assert result.returncode != 0, "pip installed the tampered six"
    assert "DO NOT MATCH THE HASHES" in result.stderr
    assert not (target / "six.py").exists()


def test_a_production_install_holds_no_test_tool():
    for environment in ({"NAVIGATOR_ENV": "production"}, {"NAVIGATOR_PRODUCTION_INSTALL": "1"}):
        installs = make_setup_commands(**environment)
        read = [option.split()[-1] for command in installs for option in re.findall(r"-r \S+", command)]
        assert "requirements-dev.lock" not in read
        pinned = " ".join((ROOT / lock).read_text() for lock in read)
        for tool in ("pytest", "playwright", "atheris", "hypothesis"):
            assert not re.search(rf"^{tool}==", pinned, re.M | re.I), f"{tool} in a lock {environment} reads"
