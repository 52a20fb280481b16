"""Fixtures for the Rasa side: the domain as the action server sees it, a directory database with
the shared sample, and a tracker builder (as RasaHQ's financial-demo tests do; the builder itself
is tests.helpers.make_tracker). The saved spaCy pipeline, `nlp`, is tests/conftest.py's."""
from __future__ import annotations

from typing import Any, Dict

import pytest
import yaml

from infra.config import ROOT
from tests.helpers import SAMPLE_DIRECTORY, make_tracker


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    """domain.yml as a dict, the shape the action server receives."""
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@pytest.fixture
def directory_db(tmp_path, monkeypatch) -> str:
    """A fresh DATABASE_URL holding the shared sample directory (Boise and Omaha services)."""
    if not SAMPLE_DIRECTORY.exists():
        pytest.skip("../shared/eval/sample is not here")
    from navigator import schema
    from resources.importers.hsds_import import import_hsds

    url = f"sqlite:///{tmp_path}/navigator.db"
    monkeypatch.setenv("DATABASE_URL", url)
    schema.create_schema()
    import_hsds(SAMPLE_DIRECTORY)
    return url


@pytest.fixture
def tracker_factory():
    return make_tracker
