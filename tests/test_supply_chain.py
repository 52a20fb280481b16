"""Supply chain: what `make setup` installs is pinned, hashed, and, in production, free of test tools.

A tampered or swapped package file must stop the install (every pin carries the sha256 of each
file pip may take for it, and pip runs with --require-hashes); a production install must hold no
test or benchmark tool (pytest, playwright, hypothesis, atheris); and the runtime lock must be
complete on its own, or a production install would fail, or worse, pull an unhashed package.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from infra.config import ROOT

BUILD_LOCK, RUNTIME_LOCK, DEV_LOCK, NODEPS = (ROOT / name for name in (
    "requirements-build.lock", "requirements.lock", "requirements-dev.lock", "requirements-nodeps.txt"))
LOCKS = (BUILD_LOCK, RUNTIME_LOCK, DEV_LOCK, NODEPS)
TEST_TOOLS = {"pytest", "playwright", "hypothesis", "atheris", "pip-audit"}
SHA256 = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """{name: (specifier, [hash options])} for each requirement of a lock, continuation lines joined."""
    text = re.sub(r"\\\n", " ", lock.read_text())
    found = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        found[canonical(name)] = (requirement, options)
    return found


@pytest.mark.parametrize("lock", LOCKS, ids=lambda lock: lock.name)
def test_every_requirement_is_pinned_and_carries_sha256_hashes(lock):
    entries = requirements(lock)
    assert entries, f"{lock.name} is empty"
    for name, (requirement, options) in entries.items():
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[^=\s]+", requirement), f"{requirement}: not pinned with =="
        assert options, f"{requirement} in {lock.name} has no --hash"
        assert all(SHA256.match(option) for option in options), f"{requirement}: {options}"


def test_no_test_tool_in_the_locks_a_production_install_reads():
    production = set(requirements(BUILD_LOCK)) | set(requirements(RUNTIME_LOCK)) | set(requirements(NODEPS))
    assert not production & TEST_TOOLS
    assert TEST_TOOLS - {"pip-audit"} <= set(requirements(DEV_LOCK))
    assert not production & set(requirements(DEV_LOCK)), "a package pinned in both the runtime and the dev lock"


def pinned_versions(*locks: Path) -> dict[str, str]:
    return {name: requirement.partition("==")[2]
            for lock in locks for name, (requirement, _) in requirements(lock).items()}


@pytest.mark.parametrize("lock, installed_with", [(RUNTIME_LOCK, (BUILD_LOCK, RUNTIME_LOCK)),
                                                  (DEV_LOCK, (BUILD_LOCK, RUNTIME_LOCK, DEV_LOCK))],
                         ids=["runtime", "dev"])
def test_each_dependency_of_a_pinned_package_is_pinned_in_the_locks_installed_with_it(lock, installed_with):
    """What pip --require-hashes demands of an install (the production one reads no dev lock):
    each dependency of a pinned package (markers evaluated here, extras as asked for) is pinned,
    at a version it accepts. Read from the installed metadata of this (development) venv."""
    pinned = pinned_versions(*installed_with)
    asked_extras = {"rasa": {"spacy"}}
    for name in requirements(lock):
        for spec in metadata.distribution(name).requires or []:
            dependency = Requirement(spec)
            extras = asked_extras.get(name, set()) | {""}
            if dependency.marker and not any(dependency.marker.evaluate({"extra": extra}) for extra in extras):
                continue
            dependency_name = canonical(dependency.name)
            assert dependency_name in pinned, f"{name} needs {spec}, which no lock installed with {lock.name} pins"
            assert dependency.specifier.contains(pinned[dependency_name], prereleases=True), \
                f"{name} needs {spec}, the locks pin {pinned[dependency_name]}"


def dry_run(**environment) -> str:
    """The commands `make setup` would run on a machine without a venv, with the given environment."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("NAVIGATOR_ENV", "NAVIGATOR_PRODUCTION_INSTALL", "MAKEFLAGS", "MAKELEVEL")}
    env.update(environment)
    return subprocess.run(["make", "-n", "VENV=/nonexistent-venv", "setup"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True).stdout


def pip_installs(commands: str) -> list[str]:
    return [line for line in commands.splitlines() if " -m pip install" in line]


@pytest.mark.parametrize("environment", [{"NAVIGATOR_PRODUCTION_INSTALL": "1"}, {"NAVIGATOR_ENV": "production"}],
                         ids=["NAVIGATOR_PRODUCTION_INSTALL=1", "NAVIGATOR_ENV=production"])
def test_a_production_install_reads_only_the_runtime_locks_and_checks_itself(environment):
    commands = dry_run(**environment)
    assert "requirements-dev.lock" not in "\n".join(pip_installs(commands))
    assert "-r requirements.lock" in commands
    assert "rm -rf /nonexistent-venv" in commands, "a production venv starts empty"
    assert "scripts/check-production-install" in commands


def test_a_development_install_adds_the_dev_lock():
    commands = dry_run(NAVIGATOR_ENV="production", NAVIGATOR_PRODUCTION_INSTALL="0")
    assert "-r requirements.lock -r requirements-dev.lock" in commands


@pytest.mark.parametrize("environment", [{}, {"NAVIGATOR_PRODUCTION_INSTALL": "1"}], ids=["dev", "production"])
def test_every_install_from_a_lock_checks_hashes_and_builds_without_fetching_unhashed_tools(environment):
    for command in pip_installs(dry_run(**environment)):
        if " -r " in command:
            assert "--require-hashes" in command, command
        if "requirements-build.lock" in command:
            assert "--only-binary :all:" in command, command  # nothing to build with yet
        else:
            assert "--no-build-isolation" in command, command


def test_check_production_install_names_the_test_tools_of_a_development_venv():
    result = subprocess.run([str(ROOT / "scripts/check-production-install"), sys.executable],
                            capture_output=True, text=True)
    assert result.returncode == 1
    for tool in ("pytest", "playwright", "hypothesis", "atheris"):
        assert f"{tool}==" in result.stderr


def test_check_production_install_passes_a_venv_without_test_tools(tmp_path):
    venv.create(tmp_path / "venv", with_pip=False)
    result = subprocess.run([str(ROOT / "scripts/check-production-install"), str(tmp_path / "venv/bin/python")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "no test tool" in result.stdout
