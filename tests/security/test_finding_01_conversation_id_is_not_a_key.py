"""Finding 1 (issue 14): a conversation id worked as a key to the conversation.

The finding: `/api/handoffs` (and the console, and logs) show `conversation_id`, the Rasa sender
id. The web chat socket's `hello` joined any `web-…` session it was given, sent its whole history
and streamed the advocate's later replies; it also accepted ids the server never issued; and with
WEBCHAT_ALLOWED_ORIGINS set, a client that sent no Origin was let in anyway. The REST channel
took any `sender`, so a caller could post into a texter's `sms-…` conversation (and switch its
output channel away from the phone: an advocate's reply would then go to the caller) or into a
web chat.

The attack, performed here: (a) a survivor chats; an attacker reads the conversation id from
/api/handoffs, opens a second socket and says `hello` with that id and no secret, or a wrong
one; (b) says `hello` with a made-up `web-…` id; (c) POSTs to the REST channel as the texter's
`sms-…` id and as the chat's `web-…` id (and other spellings of the reserved prefixes);
(d) with WEBCHAT_ALLOWED_ORIGINS set, opens the socket without an Origin header.

What must happen: (a) and (b) get a new, empty session (a fresh id and secret), never a line of
the old history nor any later bot or advocate message of it, while the survivor's own tab, with
its secret, does resume; (c) gets a clear 400 and the SMS and web chat conversations are exactly
as they were (the advocate's reply still goes to the phone), while ordinary REST senders (the
eval harness's `eval-…`, uuids, `default`) work as before; (d) gets 403.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from typing import List
from urllib.parse import quote

import pytest
import websockets

from infra import db
from navigator import schema
from tests.channels.test_twilio_line import conversation_of, replies, text, tracker
from tests.channels.test_webchat_protocol import ANSWER, ASK, Chat, advocate_says
from tests.helpers import http, wait_until

TEXTER = "+15550190101"  # fictional (555-01xx)
ADVOCATE_WORDS = "This is Sam from the shelter. Are you safe right now?"
LATER_WORDS = "I am still here."


@pytest.fixture
def twilio(navigator_twilio):
    """The Twilio stand-in the channel tests' running navigator (`channel_stack`, tests/conftest.py)
    texts, not this suite's own per-module one: these attacks are on that navigator."""
    return navigator_twilio


def open_handoff_ids(stack) -> List[str]:
    """The conversation ids /api/handoffs shows an integration (a leaked token sees these)."""
    token = stack.cli("tokens", "create", f"finding-01-{uuid.uuid4().hex[:6]}").stdout.strip().splitlines()[-1]
    status, rows = http("GET", f"{stack.console}/api/handoffs?status=open", headers={"Authorization": f"Bearer {token}"})
    assert status == 200, rows
    return [row["conversation_id"] for row in rows]


async def frames_until_pong(chat: Chat) -> List[dict]:
    """Every frame the server has sent this socket so far: a pong comes after all of them."""
    await chat.send({"type": "ping"})
    got = []
    while True:
        frame = json.loads(await asyncio.wait_for(chat.ws.recv(), 30))
        if frame["type"] == "pong":
            return got
        got.append(frame)


@pytest.mark.e2e
@pytest.mark.parametrize("stolen_secret", [None, "wrong", "forged-" + secrets.token_urlsafe(32)])
def test_a_conversation_id_from_the_api_does_not_open_the_chat(channel_stack, stolen_secret):
    async def scenario():
        survivor = await Chat(channel_stack).open()
        await survivor.say("I want to talk to a person", "1")
        assert await asyncio.to_thread(wait_until, lambda: survivor.session in open_handoff_ids(channel_stack), 10, 0.3)

        attacker = await Chat(channel_stack).open(survivor.session, full=True, secret=stolen_secret)
        after_hello = list(attacker.raw)
        # While the attacker's socket is open: an advocate writes, and the bot answers the survivor.
        await asyncio.to_thread(advocate_says, channel_stack, survivor.session, ADVOCATE_WORDS)
        await survivor.say(ASK, "2")
        leaked_live = await frames_until_pong(attacker)
        survivor_saw = await frames_until_pong(survivor)

        own_tab = await Chat(channel_stack).resume(survivor)  # the survivor's reload: id and secret
        for chat in (survivor, attacker, own_tab):
            await chat.close()
        return survivor, attacker, after_hello, leaked_live, survivor_saw, own_tab

    survivor, attacker, after_hello, leaked_live, survivor_saw, own_tab = asyncio.run(scenario())
    # The attacker got a new, empty conversation of their own, and nothing of the survivor's.
    assert attacker.session != survivor.session and attacker.session.startswith("web-")
    assert attacker.secret and attacker.secret != survivor.secret
    assert attacker.history == []
    everything_the_attacker_got = "\n".join(after_hello) + json.dumps(leaked_live)
    for words in ("talk to a person", ADVOCATE_WORDS, ASK, ANSWER):
        assert words not in everything_the_attacker_got
    assert not [frame for frame in leaked_live if frame["type"] == "bot"]
    # The survivor was not disturbed: they got the advocate's words and the answer, live...
    assert any(frame.get("text") == ADVOCATE_WORDS for frame in survivor_saw + [json.loads(r) for r in survivor.raw])
    # ...and their own tab, with its secret, resumes the conversation with its history.
    assert own_tab.session == survivor.session
    history = [line["text"] for line in own_tab.history]
    assert ADVOCATE_WORDS in history and any(ANSWER in line for line in history)


@pytest.mark.e2e
def test_a_made_up_session_id_gets_a_new_empty_session(channel_stack):
    made_up = "web-" + secrets.token_urlsafe(16)

    async def scenario():
        chat = await Chat(channel_stack).open(made_up, full=True, secret=secrets.token_urlsafe(32))
        await chat.close()
        return chat

    chat = asyncio.run(scenario())
    assert chat.session != made_up and chat.session.startswith("web-") and chat.secret
    assert chat.history == []
    status, state = http("GET", f"{channel_stack.rasa}/conversations/{quote(made_up)}/tracker",
                         headers=channel_stack.rasa_api_headers())
    assert status == 200 and [e for e in state["events"] if e["event"] in ("user", "bot")] == []  # never used


def recorded(stack, conversation_id: str) -> dict:
    """Everything Rasa keeps of a conversation: its events and the channel replies go to."""
    state = tracker(stack, conversation_id)
    return {"events": [{k: v for k, v in e.items()} for e in state["events"]],
            "channel": state["latest_input_channel"], "paused": state["paused"]}


@pytest.mark.e2e
def test_a_rest_caller_cannot_post_into_an_sms_or_web_chat_conversation(channel_stack, twilio):
    assert text(channel_stack, TEXTER, "I want to talk to a person")[0] == 200
    sms_conversation = conversation_of(channel_stack, TEXTER)
    assert wait_until(lambda: len(tracker(channel_stack, sms_conversation)["events"]) > 3, 30, 0.3)
    replies(twilio, TEXTER, 1)

    async def a_web_chat():
        chat = await Chat(channel_stack).open()
        await chat.say("hello", "1")
        await chat.close()
        return chat.session
    web_conversation = asyncio.run(a_web_chat())

    sms_before, web_before = recorded(channel_stack, sms_conversation), recorded(channel_stack, web_conversation)
    assert sms_before["channel"] == "twilio"
    suffix = sms_conversation[len("sms-"):]
    for sender in (sms_conversation, web_conversation, "SMS-" + suffix, "Web-" + web_conversation[4:],
                   "wa-" + suffix, "whatsapp:+15550190101", "WhatsApp-" + suffix,
                   "../conversations/" + sms_conversation, sms_conversation + "\n", "..", "x" * 65, ""):
        status, answer = http("POST", channel_stack.rasa + "/webhooks/rest/webhook",
                              {"sender": sender, "message": "I need a shelter in Boise"})
        assert status == 400, (sender, answer)
        assert "sender" in answer["error"], answer

    assert recorded(channel_stack, sms_conversation) == sms_before  # not a single event more
    assert recorded(channel_stack, web_conversation) == web_before
    # The texter's conversation still answers on the phone: an advocate's reply goes out as an SMS.
    sent = len(twilio.to(TEXTER))
    status, _ = http("POST", f"{channel_stack.rasa}/conversations/{quote(sms_conversation)}/tracker/events"
                     f"?output_channel=latest&execute_side_effects=true",
                     {"event": "bot", "text": "An advocate here."}, headers=channel_stack.rasa_api_headers())
    assert status == 200
    assert "An advocate here." in replies(twilio, TEXTER, sent + 1)[-1]


@pytest.mark.e2e
@pytest.mark.parametrize("sender", [f"eval-search-{uuid.uuid4().hex[:12]}", str(uuid.uuid4()), None,
                                    "agency.app:user@42_x", "+15550190199"])
def test_ordinary_rest_senders_keep_working_and_are_the_conversation_id(channel_stack, sender):
    body = {"message": "I need legal help in Omaha, NE"}
    if sender is not None:
        body["sender"] = sender
    status, answer = http("POST", channel_stack.rasa + "/webhooks/rest/webhook", body)
    assert status == 200 and any(ANSWER in (reply.get("text") or "") for reply in answer)
    status, state = http("GET", f"{channel_stack.rasa}/conversations/{quote(sender or 'default', safe=':@+')}"
                         f"/tracker", headers=channel_stack.rasa_api_headers())  # as the console asks (rasa_api.PATH_SAFE)
    assert status == 200
    assert state["sender_id"] == (sender or "default") and state["latest_input_channel"] == "rest"


def test_with_allowed_origins_a_socket_without_an_origin_is_refused(monkeypatch, tmp_path):
    from tests.channels.test_limits import Served, chat

    url = f"sqlite:///{tmp_path}/navigator.db"
    monkeypatch.setenv("DATABASE_URL", url)
    schema.create_schema(db.make_engine(url))
    monkeypatch.setenv("WEBCHAT_ALLOWED_ORIGINS", "https://agency.example.org")
    served = Served()
    try:
        socket = f"ws://127.0.0.1:{served.port}/webchat/socket"
        with pytest.raises(websockets.InvalidStatusCode) as refused:
            asyncio.run(chat(socket, [], origin=None))  # a script, not a browser page: no Origin
        assert refused.value.status_code == 403
        with pytest.raises(websockets.InvalidStatusCode) as other_site:
            asyncio.run(chat(socket, [], origin="https://elsewhere.example.com"))
        assert other_site.value.status_code == 403
        assert asyncio.run(chat(socket, [], origin="https://agency.example.org"))[0][0]["type"] == "session"
    finally:
        served.stop()
