"""Fixtures for the channel tests: a local stand-in for Twilio's REST API, and one running
navigator (`navigator serve`) whose SMS line and web chat talk to it, holding the shared sample
directory (Boise and Omaha services)."""
from __future__ import annotations

import pytest

from navigator.setup import model_path
from infra.config import ROOT
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, TwilioStandIn
from tests.helpers import Stack

SAMPLE_DIRECTORY = ROOT.parent / "shared" / "eval" / "sample" / "directory_hsds3"
# The public URL Twilio is told to call (behind a proxy, not the address Rasa listens on).
WEBHOOK_URL = "https://navigator.example.org/webhooks/twilio/webhook"


@pytest.fixture(scope="session")
def twilio():
    standin = TwilioStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def channel_stack(tmp_path_factory, twilio):
    """The whole navigator, its Twilio calls going to the stand-in, the sample directory imported."""
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    if not SAMPLE_DIRECTORY.exists():
        pytest.skip("../shared/eval/sample is not here")
    stack = Stack(tmp_path_factory.mktemp("channels"), env={
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_NUMBER": NAVIGATOR_NUMBER,
        "TWILIO_API_URL": twilio.url, "TWILIO_WEBHOOK_URL": WEBHOOK_URL,
        "WEBCHAT_EXIT_URL": twilio.url + "/neutral",
        "TWILIO_ERASE_DELAY_S": "0",  # Twilio asks for a minute's wait before deleting; its stand-in does not
    })
    stack.start()
    imported = stack.cli("import-hsds", str(SAMPLE_DIRECTORY))
    assert imported.returncode == 0, imported.stderr
    yield stack
    stack.stop()
