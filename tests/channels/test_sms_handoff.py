"""The whole handoff on the SMS line: an emergency texted to the navigator reaches the console's
queue (channel `twilio`, a conversation id that is not the number); the advocate's reply from the
console arrives as an SMS on the same thread; "/restart" cannot take the conversation back; hand
back, and the bot answers texts again."""
from __future__ import annotations

import subprocess

import pytest

from navigator.config import ROOT
from tests.channels.test_twilio_line import conversation_of, new_phone, replies, text, tracker
from tests.console.conftest import PASSWORD, Browser
from tests.helpers import NAVIGATOR, http, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def advocate(channel_stack):
    added = subprocess.run([NAVIGATOR, "advocates", "add", "sam", "--password-stdin"], cwd=ROOT,
                           env=channel_stack.env, input=PASSWORD + "\n", capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    sam = Browser(channel_stack.console)
    assert sam.sign_in("sam")[0] == 303
    return sam


def handoff_for(stack, conversation):
    created = stack.cli("tokens", "create", "sms-handoff-test")
    token = created.stdout.strip().splitlines()[-1]
    status, rows = http("GET", f"{stack.console}/api/handoffs?status=open", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    return next((row for row in rows if row["conversation_id"] == conversation), None)


def test_an_emergency_by_sms_reaches_the_console_and_the_advocate_answers_by_sms(channel_stack, twilio, advocate):
    phone = new_phone()
    text(channel_stack, phone, "i need a shelter")
    replies(twilio, phone, 1)
    sent = len(twilio.to(phone))
    text(channel_stack, phone, "he has a gun and he is here")
    assert "911" in replies(twilio, phone, sent + 1)[-1]

    conversation = conversation_of(channel_stack, phone)
    assert phone not in conversation
    handoff = handoff_for(channel_stack, conversation)
    assert handoff and (handoff["priority"], handoff["channel"]) == ("emergency", "twilio")
    number = handoff["id"]
    status, page = advocate.get(f"/handoffs/{number}")
    assert status == 200 and "he has a gun and he is here" in page and phone not in page

    assert advocate.post(f"/handoffs/{number}/claim")[0] == 303
    sent = len(twilio.to(phone))
    words = "This is Sam, an advocate. Are you somewhere you can text safely?"
    assert advocate.post(f"/handoffs/{number}/reply", {"text": words})[0] == 303
    assert replies(twilio, phone, sent + 1)[-1] == words

    # While the advocate holds it, "/restart" is words for the advocate (Rasa reads them without
    # the slash), not a command.
    said = '<p class="text">restart</p>'
    assert said not in advocate.get(f"/handoffs/{number}")[1]
    text(channel_stack, phone, "/restart")
    assert wait_until(lambda: said in advocate.get(f"/handoffs/{number}")[1], 20, interval=0.3)
    assert tracker(channel_stack, conversation)["paused"] is True

    assert advocate.post(f"/handoffs/{number}/handback")[0] == 303
    sent = len(twilio.to(phone))
    text(channel_stack, phone, "legal help in omaha ne")
    assert wait_until(lambda: any("Omaha" in body for body in [s.body for s in twilio.to(phone)][sent:]), 30,
                      interval=0.3)
