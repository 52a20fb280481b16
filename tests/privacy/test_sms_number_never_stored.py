"""A texter's phone number is in no file the navigator writes, and what they said is in no
database file after `navigator purge --older-than 0`: the whole navigator, texted through its
Twilio webhook (signed as Twilio signs) and answering through the local Twilio stand-in."""
from __future__ import annotations

import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Iterable, List

import pytest
from twilio.request_validator import RequestValidator

from infra.config import ROOT, VAR_DIR
from navigator.setup import model_path
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, TwilioStandIn
from tests.helpers import Stack, wait_until

pytestmark = pytest.mark.e2e
SAMPLE_DIRECTORY = ROOT.parent / "shared" / "eval" / "sample" / "directory_hsds3"
WEBHOOK_URL = "https://navigator.example.org/webhooks/twilio/webhook"
PHONE = "+15555550123"  # fictional
NUMBER_FORMS = ("+15555550123", "15555550123", "5555550123", "555-555-0123", "(555) 555-0123", "555.555.0123")
ADVOCATE_PHONE = "+15555550199"  # staff, from configuration
SECRET_WORDS = "zebra-quartz-7731 need a bed"


@pytest.fixture(scope="module")
def twilio():
    standin = TwilioStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, twilio):
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    if not SAMPLE_DIRECTORY.exists():
        pytest.skip("../shared/eval/sample is not here")
    stack = Stack(tmp_path_factory.mktemp("sms-privacy"), env={
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_NUMBER": NAVIGATOR_NUMBER,
        "TWILIO_API_URL": twilio.url, "TWILIO_WEBHOOK_URL": WEBHOOK_URL, "ADVOCATE_ALERT_NUMBERS": ADVOCATE_PHONE,
    })
    stack.started_at = time.time()
    stack.start()
    assert stack.cli("import-hsds", str(SAMPLE_DIRECTORY)).returncode == 0
    created = stack.cli("tokens", "create", "privacy")
    stack.token = created.stdout.strip().splitlines()[-1]
    yield stack
    stack.stop()


def text(stack, body: str) -> None:
    params = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": ACCOUNT_SID, "From": PHONE,
              "To": NAVIGATOR_NUMBER, "Body": body, "NumMedia": "0"}
    request = urllib.request.Request(
        stack.rasa + "/webhooks/twilio/webhook", data=urllib.parse.urlencode(params).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(WEBHOOK_URL, params)})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def replies(twilio, count: int) -> List[str]:
    assert wait_until(lambda: len(twilio.to(PHONE)) >= count, 60, interval=0.2), [s.body for s in twilio.to(PHONE)]
    return [sms.body for sms in twilio.to(PHONE)]


def files_written(stack) -> Iterable[Path]:
    """Everything under the stack's folder (databases with their -wal and -shm files, the
    processes' captured stdout and stderr), and what changed in var/ while it ran."""
    yield from (path for path in stack.work.rglob("*") if path.is_file())
    yield from (path for path in VAR_DIR.rglob("*") if path.is_file() and path.stat().st_mtime >= stack.started_at)


def holding(paths: Iterable[Path], needles: Iterable[str]) -> List[str]:
    found = []
    for path in paths:
        data = path.read_bytes()
        found += [f"{needle} in {path.name}" for needle in needles
                  if needle.encode() in data or needle.encode("utf-16-le") in data]
    return found


def databases(stack) -> List[Path]:
    return [path for path in stack.work.iterdir() if ".db" in path.name]


def test_the_number_is_in_no_file_and_the_words_go_with_the_purge(stack, twilio):
    text(stack, f"{SECRET_WORDS} in Boise")
    replies(twilio, 1)
    text(stack, "he has a gun and he is here")
    assert "911" in replies(twilio, 2)[-1]
    assert wait_until(lambda: any(h["priority"] == "emergency" for h in stack.handoffs()), 10)
    assert wait_until(lambda: len(twilio.to(ADVOCATE_PHONE)) == 1, 10)  # the on-call advocate was alerted
    (handoff,) = stack.handoffs()
    assert handoff["conversation_id"].startswith("sms-")
    assert not [form for form in NUMBER_FORMS if form in str(stack.handoffs())]  # the console never sees it

    assert holding(files_written(stack), NUMBER_FORMS) == []
    assert holding(databases(stack), [SECRET_WORDS]) != []  # the check can see the words...

    purged = stack.cli("purge", "--older-than", "0")
    assert purged.returncode == 0, purged.stderr
    assert "conversations deleted: 1" in purged.stdout

    assert holding(databases(stack), [SECRET_WORDS]) == []  # ...and after the purge they are gone
    assert holding(files_written(stack), NUMBER_FORMS) == []
