"""A texter who floods the SMS line is slowed down kindly, once, and the line stays cheap: the
messages over the limit are not answered one by one (each SMS costs the agency). But every one
still reaches the safety net: each is kept for an advocate, and an emergency among them is
answered with 911 and a handoff."""
from __future__ import annotations

import time

import pytest

from conversations.handoffs import list_handoffs
from infra import db
from tests.channels.test_twilio_line import RESPONSES, conversation_of, new_phone, text, tracker
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e


def test_a_flood_of_texts_gets_one_kind_slow_down_with_the_24_7_lines(channel_stack, twilio):
    phone = new_phone()
    for number in range(25):
        assert text(channel_stack, phone, f"hi {number}")[0] == 200
    limited = RESPONSES["utter_rate_limited"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(twilio.to(phone)) < 11:
        time.sleep(0.3)
    time.sleep(3)  # let the rest of the flood be handled
    bodies = [sms.body for sms in twilio.to(phone)]
    assert sum(limited in body for body in bodies) == 1
    assert "911" in limited
    assert len(bodies) <= 12  # about the burst of 10 answered, one slow-down, nothing for the rest
    said = [e["text"] for e in tracker(channel_stack, conversation_of(channel_stack, phone))["events"]
            if e["event"] == "user"]
    assert said == [f"hi {number}" for number in range(25)]  # every text is kept, for an advocate


def test_a_burst_whose_last_text_says_he_has_a_gun_opens_an_emergency_handoff(channel_stack, twilio):
    """People in crisis send bursts of short pieces; the one that matters may come last."""
    phone = new_phone()
    pieces = ["hi", "i need", "help", "please", "im at", "my place", "he came", "back", "hes", "angry",
              "yelling", "at me", "cant", "leave"]
    for piece in pieces:
        text(channel_stack, phone, piece)
    text(channel_stack, phone, "he has a gun")
    emergency_words = RESPONSES["utter_emergency_danger"]  # not the slow-down notice, which names 911 too
    assert wait_until(lambda: any(emergency_words in s.body for s in twilio.to(phone)), 60, interval=0.3)
    conversation = conversation_of(channel_stack, phone)
    engine = db.make_engine(channel_stack.env["DATABASE_URL"])
    with db.session_scope(engine) as session:
        assert [(h.priority, h.channel) for h in list_handoffs(session, "open")
                if h.conversation_id == conversation] == [("emergency", "twilio")]
