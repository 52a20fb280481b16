"""Fixtures the attack tests share: Rasa's HTTP API as the console calls it, stood in
(tests/console/conftest.py), one per test module."""
from __future__ import annotations

import pytest

from tests.console.conftest import RasaStandIn


@pytest.fixture(scope="module")
def rasa():
    standin = RasaStandIn()
    yield standin
    standin.stop()
