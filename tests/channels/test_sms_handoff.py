"""The whole handoff on the SMS line: an emergency texted to the navigator reaches the console's
queue (channel `twilio`, a conversation id that is not the number); the texter is told when a
person joins, by the name the advocate chose; the advocate's reply from the console arrives as
an SMS on the same thread; "/restart" cannot take the conversation back; hand back, the texter is
told, and the bot answers texts again. An unclear "no" keeps the advocate coming; "don't text me
first" keeps every unprompted text away; HELP in a held conversation reaches the advocate."""
from __future__ import annotations

import subprocess

import pytest

from infra.config import ROOT
from tests.channels.test_twilio_line import (
    RESPONSES,
    conversation_of,
    new_phone,
    nothing_more_sent,
    replies,
    text,
    tracker,
)
from tests.helpers import NAVIGATOR, PASSWORD, Browser, http, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def advocate(channel_stack):
    added = subprocess.run([NAVIGATOR, "advocates", "add", "sam", "--password-stdin", "--display-name", "Sam"], cwd=ROOT,
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

    sent = len(twilio.to(phone))
    assert advocate.post(f"/handoffs/{number}/claim")[0] == 303
    joined = replies(twilio, phone, sent + 1)[-1]  # the texter is told a person joined
    assert joined == RESPONSES["utter_advocate_joined"].format(advocate_name="Sam")
    words = "Are you somewhere you can text safely?"
    assert advocate.post(f"/handoffs/{number}/reply", {"text": words})[0] == 303
    assert replies(twilio, phone, sent + 2)[-1] == words

    # While the advocate holds it, "/restart" is words for the advocate (Rasa reads them without
    # the slash), not a command.
    said = '<p class="text">restart</p>'
    assert said not in advocate.get(f"/handoffs/{number}")[1]
    text(channel_stack, phone, "/restart")
    assert wait_until(lambda: said in advocate.get(f"/handoffs/{number}")[1], 20, interval=0.3)
    assert tracker(channel_stack, conversation)["paused"] is True

    sent = len(twilio.to(phone))
    assert advocate.post(f"/handoffs/{number}/handback")[0] == 303
    assert replies(twilio, phone, sent + 1)[-1] == RESPONSES["utter_handback"]  # told the bot is back
    sent = len(twilio.to(phone))
    text(channel_stack, phone, "legal help in omaha ne")
    assert wait_until(lambda: any("Omaha" in body for body in [s.body for s in twilio.to(phone)][sent:]), 30,
                      interval=0.3)


def test_no_i_cant_talk_after_an_emergency_keeps_the_advocate_coming_and_1_declines(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "he is choking me")
    emergency = replies(twilio, phone, 1)[-1]
    assert "911" in emergency and "Reply 1 for No advocate" in emergency
    conversation = conversation_of(channel_stack, phone)
    handoff = handoff_for(channel_stack, conversation)
    assert handoff and handoff["priority"] == "emergency"

    text(channel_stack, phone, "no i cant talk")
    kept = replies(twilio, phone, 2)[-1]
    assert "You don't have to talk" in kept and "Reply 1 for No advocate" in kept
    assert handoff_for(channel_stack, conversation)["declined_at"] is None  # still wanted, in the queue

    text(channel_stack, phone, "1")  # the clear choice
    assert replies(twilio, phone, 3)[-1] == RESPONSES["utter_handoff_declined"]
    declined = handoff_for(channel_stack, conversation)
    assert declined["status"] == "open" and declined["declined_at"]  # an emergency stays for review


def test_help_in_a_held_conversation_reaches_the_advocate(channel_stack, twilio, advocate):
    phone = new_phone()
    text(channel_stack, phone, "i want to talk to a person")
    replies(twilio, phone, 1)
    number = handoff_for(channel_stack, conversation_of(channel_stack, phone))["id"]
    assert advocate.post(f"/handoffs/{number}/claim")[0] == 303
    sent = len(replies(twilio, phone, 2))  # the request's answer, then "Hi, I'm Sam"
    text(channel_stack, phone, "HELP")
    assert replies(twilio, phone, sent + 1)[-1] == RESPONSES["utter_sms_help"]  # the carriers' reply
    said = '<p class="text">HELP</p>'
    assert wait_until(lambda: said in advocate.get(f"/handoffs/{number}")[1], 20, interval=0.3)
    assert nothing_more_sent(twilio, phone, sent + 1)  # the bot is paused: the advocate answers


def test_dont_text_me_first_means_nothing_unprompted_reaches_the_phone(channel_stack, twilio, advocate):
    phone = new_phone()
    text(channel_stack, phone, "dont text me first")
    assert RESPONSES["utter_no_first_contact"] in replies(twilio, phone, 1)[-1]
    text(channel_stack, phone, "i want to talk to a person")
    replies(twilio, phone, 2)
    conversation = conversation_of(channel_stack, phone)
    number = handoff_for(channel_stack, conversation)["id"]

    assert advocate.post(f"/handoffs/{number}/claim")[0] == 303
    status, page = advocate.post(f"/handoffs/{number}/reply", {"text": "Hi, can you talk?"})
    assert status == 409 and "once they write again" in page.replace("&#39;", "'")
    assert nothing_more_sent(twilio, phone, 2)  # no "Hi, I'm Sam", no advocate's words

    text(channel_stack, phone, "ok i can text now")
    assert wait_until(lambda: "ok i can text now" in advocate.get(f"/handoffs/{number}")[1], 20, interval=0.3)
    assert advocate.post(f"/handoffs/{number}/reply", {"text": "Hi, can you talk?"})[0] == 303
    assert replies(twilio, phone, 4)[-2:] == [RESPONSES["utter_advocate_joined"].format(advocate_name="Sam"),
                                             "Hi, can you talk?"]
