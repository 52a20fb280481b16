"""Fixtures the attack tests share, one per test module (each attack starts its own navigator or
console, with its own settings): Rasa's HTTP API as the console calls it, stood in
(tests/console/conftest.py), and Twilio's REST API, stood in (tests/channels/twilio_standin.py)."""
from __future__ import annotations

import pytest

from tests.channels.twilio_standin import TwilioStandIn
from tests.console.conftest import RasaStandIn


@pytest.fixture(scope="module")
def rasa():
    standin = RasaStandIn()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def twilio():
    standin = TwilioStandIn().start()
    yield standin
    standin.stop()
