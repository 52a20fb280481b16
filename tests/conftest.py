"""Fixtures shared by several test suites, defined once so that each is one fixture for the whole
run (a fixture imported into another suite's module is a second one: a second navigator started,
a second spaCy pipeline loaded). What is shared but is not a fixture is in tests/helpers.py.

- `nlp`: the saved spaCy pipeline (tests/bot, tests/property);
- `rasa`: a stand-in for Rasa's HTTP API, one per test module (tests/console, tests/security);
- `channel_stack`: one running navigator (`navigator serve`) whose SMS line and web chat text a
  stand-in for Twilio's REST API (`navigator_twilio`), holding the shared sample directory
  (tests/channels, tests/security); `twilio` is that stand-in, except in tests/security, whose
  attacks each get their own (tests/security/conftest.py)."""
from __future__ import annotations

import pytest

from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, TwilioStandIn
from tests.helpers import SAMPLE_DIRECTORY, WEBHOOK_URL, RasaStandIn, Stack


@pytest.fixture(scope="session")
def nlp():
    import spacy  # here: only the tests that read text pay for spaCy

    from bot.nlp.pipeline import PIPELINE_PATH  # here: as spaCy, only for the tests that need it

    if not PIPELINE_PATH.exists():
        from bot.nlp.pipeline import save_pipeline  # here: only when the pipeline was never saved

        save_pipeline()
    return spacy.load(PIPELINE_PATH)


@pytest.fixture(scope="module")
def rasa():
    standin = RasaStandIn()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def navigator_twilio():
    """Twilio's REST API, stood in, as `channel_stack` calls it."""
    standin = TwilioStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def twilio(navigator_twilio):
    return navigator_twilio


@pytest.fixture(scope="session")
def channel_stack(tmp_path_factory, navigator_twilio):
    """The whole navigator, its Twilio calls going to the stand-in, the sample directory imported."""
    from navigator.setup import model_path  # here: a test run that starts no navigator needs no model

    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    if not SAMPLE_DIRECTORY.exists():
        pytest.skip("../shared/eval/sample is not here")
    stack = Stack(tmp_path_factory.mktemp("channels"), env={
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_NUMBER": NAVIGATOR_NUMBER,
        "TWILIO_API_URL": navigator_twilio.url, "TWILIO_WEBHOOK_URL": WEBHOOK_URL,
        "WEBCHAT_EXIT_URL": navigator_twilio.url + "/neutral",
        "TWILIO_ERASE_DELAY_S": "0",  # Twilio asks for a minute's wait before deleting; its stand-in does not
    })
    stack.start()
    imported = stack.cli("import-hsds", str(SAMPLE_DIRECTORY))
    assert imported.returncode == 0, imported.stderr
    yield stack
    stack.stop()
