"""No fault silences the assistant: with the action server alive but not answering (SIGSTOP: its
port still accepts connections, nothing comes back), a survivor's emergency still gets the
emergency words with 911 within seconds, through REST and through SMS, and its handoff; an
ordinary message gets the 24/7 lines. The Rasa server answers by itself (bot/channels/fallback.py).
"""
from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from conversations.handoffs import list_handoffs
from infra import db
from tests.channels.test_twilio_line import conversation_of, new_phone, text
from tests.helpers import http, wait_until

pytestmark = pytest.mark.e2e
LINES = ("911", "1-800-799-7233", "1-888-373-7888")


def open_emergencies(stack, conversation: str) -> list:
    with db.session_scope(db.make_engine(stack.env["DATABASE_URL"])) as session:
        return [h.priority for h in list_handoffs(session, "open") if h.conversation_id == conversation]


def test_with_the_action_server_stalled_an_emergency_still_hears_911_within_5_s(channel_stack, twilio):
    actions = channel_stack.children()["actions"]
    os.kill(actions, signal.SIGSTOP)
    try:
        conversation = f"stalled-{uuid.uuid4().hex[:8]}"
        started = time.monotonic()
        status, replies = http("POST", channel_stack.rasa + "/webhooks/rest/webhook",
                               {"sender": conversation, "message": "he has a gun and he is outside"}, timeout=30)
        rest_seconds = time.monotonic() - started
        said = " ".join(r.get("text") or "" for r in replies)
        assert status == 200 and rest_seconds < 5 and all(line in said for line in LINES), (rest_seconds, said)
        assert "I've asked a human advocate" in said
        assert wait_until(lambda: open_emergencies(channel_stack, conversation) == ["emergency"], 5, interval=0.2)

        status, replies = http("POST", channel_stack.rasa + "/webhooks/rest/webhook",
                               {"sender": f"stalled-{uuid.uuid4().hex[:8]}", "message": "i need a shelter in Boise"},
                               timeout=30)
        assert status == 200 and all(line in replies[-1]["text"] for line in LINES)

        phone = new_phone()
        started = time.monotonic()
        text(channel_stack, phone, "he is choking me")
        assert wait_until(lambda: any("911" in s.body for s in twilio.to(phone)), 5, interval=0.1)
        assert time.monotonic() - started < 5
        texter = conversation_of(channel_stack, phone)
        assert wait_until(lambda: open_emergencies(channel_stack, texter) == ["emergency"], 5, interval=0.2)
    finally:
        os.kill(actions, signal.SIGCONT)
    # Back: the same conversation is answered by the bot again.
    reply = channel_stack.say(f"stalled-{uuid.uuid4().hex[:8]}", "i need a shelter in Boise")
    assert "Foothills Quiet House" in reply
