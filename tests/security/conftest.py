"""Fixtures the attack tests share, one per test module (each attack starts its own navigator or
console, with its own settings): Twilio's REST API, stood in (tests/channels/twilio_standin.py),
in place of the session's one (tests/conftest.py); Rasa's HTTP API as the console calls it,
stood in, is the root conftest's `rasa` (one per module too)."""
from __future__ import annotations

import pytest

from tests.channels.twilio_standin import TwilioStandIn


@pytest.fixture(scope="module")
def twilio():
    standin = TwilioStandIn().start()
    yield standin
    standin.stop()
