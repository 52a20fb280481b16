"""Fixtures for the Rasa side: the saved spaCy pipeline, the domain as the action server sees
it, a directory database with the shared sample, and a tracker builder (as RasaHQ's
financial-demo tests do)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker

from infra.config import ROOT

SAMPLE_DIRECTORY = ROOT.parent / "shared" / "eval" / "sample" / "directory_hsds3"


@pytest.fixture(scope="session")
def nlp():
    import spacy

    from bot.nlp.pipeline import PIPELINE_PATH

    if not PIPELINE_PATH.exists():
        from bot.nlp.pipeline import save_pipeline

        save_pipeline()
    return spacy.load(PIPELINE_PATH)


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    """domain.yml as a dict, the shape the action server receives."""
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@pytest.fixture
def directory_db(tmp_path, monkeypatch) -> str:
    """A fresh DATABASE_URL holding the shared sample directory (Boise and Omaha services)."""
    if not SAMPLE_DIRECTORY.exists():
        pytest.skip("../shared/eval/sample is not here")
    from infra import db
    from resources.importers.hsds_import import import_hsds

    url = f"sqlite:///{tmp_path}/navigator.db"
    monkeypatch.setenv("DATABASE_URL", url)
    db.create_schema()
    import_hsds(SAMPLE_DIRECTORY)
    return url


def make_tracker(slots: Optional[Dict[str, Any]] = None, text: str = "", intent: Optional[str] = None,
                 entities: Optional[List[Dict[str, Any]]] = None, events: Optional[List[Dict[str, Any]]] = None,
                 sender_id: str = "test-sender", channel: str = "rest") -> Tracker:
    """A tracker as the action server receives it after one user message."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0} if intent else {},
              "entities": entities or []}
    user_event = {"event": "user", "text": text, "parse_data": latest, "input_channel": channel}
    return Tracker(sender_id, dict(slots or {}), latest, list(events or []) + [user_event], False, None,
                   {"name": None}, "action_listen")


@pytest.fixture
def tracker_factory():
    return make_tracker
