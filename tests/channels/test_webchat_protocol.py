"""The web chat's WebSocket protocol (bot/channels/webchat/socket.py) where the browser does not show it:
an advocate's messages are marked as a person's, live and in the history, and never carry who the
advocate is; "erase" deletes the conversation from every store (after a turn still running), every
tab of it hears "erased", and its session id never brings the old history back; a quick exit does
not erase. In-process with stand-ins for the fast cases, then on the running navigator."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import threading
import time
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, List, Optional
from urllib.parse import quote

import pytest
import websockets
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered

from bot.channels.webchat.socket import WebChatInput, WebChatOutput, bot_message, transcript
from bot.dialogue import UTTER_CHANNEL_ERROR
from infra.config import ROOT
from tests.helpers import NAVIGATOR, PASSWORD, Browser, http, wait_until

ADVOCATE_NAME = "sam"
NAME = re.compile(rf"\b{ADVOCATE_NAME}\b", re.I)
ANSWER_TIMEOUT_S = 60


@lru_cache(maxsize=1)
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def words_of(name: str) -> str:
    return domain().responses[name][0]["text"]


# --- in-process: the pieces, with stand-ins for the agent and the sockets ------------------------

class FakeSocket:
    def __init__(self):
        self.sent: List[dict] = []
        self.closed = False

    async def send(self, data: str) -> None:
        self.sent.append(json.loads(data))

    async def close(self, *args: Any, **kwargs: Any) -> None:
        self.closed = True


def webchat_with_stand_ins(erase) -> WebChatInput:
    webchat = WebChatInput()
    agent = SimpleNamespace(nlg=TemplatedNaturalLanguageGenerator(domain().responses), lock_store=InMemoryLockStore())
    webchat.words.attach(SimpleNamespace(ctx=SimpleNamespace(agent=agent)))
    webchat.erase_conversation = erase
    return webchat


def test_an_advocates_message_is_marked_as_a_persons_and_never_names_them():
    live = bot_message({"text": "I am here with you.", "advocate": ADVOCATE_NAME})
    assert live == {"text": "I am here with you.", "buttons": [], "advocate": True}
    assert bot_message({"text": "Here is what I found."}) == {"text": "Here is what I found.", "buttons": []}
    lines = transcript([UserUttered("I want to talk to a person"),
                        BotUttered("An advocate will answer soon."),
                        BotUttered("I am here with you.", metadata={"advocate": ADVOCATE_NAME})])
    assert [(line["from"], line.get("advocate", False)) for line in lines] == [
        ("user", False), ("bot", False), ("bot", True)]
    assert not NAME.search(json.dumps(lines))


def test_the_live_frame_of_an_advocates_reply_says_advocate_and_not_who():
    webchat = webchat_with_stand_ins(lambda _: None)
    socket = FakeSocket()
    webchat.sockets.add("web-x", socket)
    # What Rasa's BotUttered.message() hands the output channel: the metadata merged in.
    asyncio.run(WebChatOutput(webchat.sockets).send_response("web-x", {"text": "Hello.", "advocate": ADVOCATE_NAME}))
    assert socket.sent == [{"type": "bot", "text": "Hello.", "buttons": [], "advocate": True}]


def test_erase_waits_for_the_running_turn_then_tells_every_tab_and_forgets_the_session():
    erased_at: List[float] = []
    threads: List[str] = []

    def erase(conversation_id):
        threads.append(threading.current_thread().name)
        erased_at.append(time.monotonic())
        assert conversation_id == "web-x"

    webchat = webchat_with_stand_ins(erase)
    this_tab, other_tab, other_chat = FakeSocket(), FakeSocket(), FakeSocket()
    webchat.sockets.add("web-x", this_tab)
    webchat.sockets.add("web-x", other_tab)
    webchat.sockets.add("web-y", other_chat)

    async def scenario():
        lock_store = webchat.words.agent.lock_store
        turn_ended = asyncio.Event()

        async def running_turn():
            async with lock_store.lock("web-x"):
                await asyncio.sleep(0.5)
                turn_ended.set()
        turn = asyncio.ensure_future(running_turn())
        await asyncio.sleep(0.05)
        done = await webchat._erase("web-x", this_tab)
        assert turn_ended.is_set()  # the erase came after the turn's save
        await turn
        return done

    done = asyncio.run(scenario())
    assert done is True and len(erased_at) == 1
    assert threads[0] != threading.main_thread().name  # blocking: never on the event loop
    assert this_tab.sent == other_tab.sent == [{"type": "erased"}] and this_tab.closed and other_tab.closed
    assert other_chat.sent == [] and not other_chat.closed
    assert "web-x" in webchat.erased and "web-x" not in webchat.sockets.by_session


def test_a_failed_erase_says_so_and_keeps_the_chat_going():
    def erase(_conversation_id):
        raise RuntimeError("the database is down")

    webchat = webchat_with_stand_ins(erase)
    socket = FakeSocket()
    webchat.sockets.add("web-x", socket)
    assert asyncio.run(webchat._erase("web-x", socket)) is False
    assert socket.sent == [{"type": "bot", "text": words_of(UTTER_CHANNEL_ERROR), "buttons": [], "note": True}]
    assert not socket.closed and "web-x" not in webchat.erased  # it can be asked again


# --- on the running navigator ---------------------------------------------------------------------


class Chat:
    """One widget's socket: the hello, then frames in and out."""

    def __init__(self, stack):
        self.url = stack.rasa.replace("http", "ws", 1) + "/webchat/socket"
        self.ws = None
        self.raw: List[str] = []
        self.session: Optional[str] = None
        self.secret: Optional[str] = None  # the resume secret, given with a new session only
        self.history: List[dict] = []

    async def open(self, session: Optional[str] = None, full: bool = True, secret: Optional[str] = None,
                   origin: Optional[str] = None) -> "Chat":
        self.ws = await websockets.connect(self.url, max_size=None, origin=origin)
        await self.ws.send(json.dumps({"type": "hello", "session": session, "secret": secret, "seen": 0,
                                       "full": full}))
        given = await self.next("session")
        self.session, self.secret = given["session"], given.get("secret", secret)
        self.history = (await self.next("history"))["messages"]
        return self

    async def resume(self, other: "Chat", full: bool = True) -> "Chat":
        """Another tab of `other`'s session: its id and secret, as a duplicated tab has them."""
        return await self.open(other.session, full=full, secret=other.secret)

    async def next(self, kind: str, timeout: float = ANSWER_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(deadline - time.monotonic(), 0.01))
            self.raw.append(raw)
            frame = json.loads(raw)
            if frame["type"] == kind:
                return frame

    async def say(self, text: str, message_id: str) -> None:
        await self.ws.send(json.dumps({"type": "message", "id": message_id, "text": text}))
        await self.next("done")

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame))

    async def closed(self, timeout: float = 10) -> bool:
        try:
            while True:
                self.raw.append(await asyncio.wait_for(self.ws.recv(), timeout))
        except websockets.ConnectionClosed:
            return True

    async def close(self) -> None:
        await self.ws.close()


def tracker_texts(stack, conversation_id: str) -> List[str]:
    """What the person and the bot said, in every session of the conversation, as Rasa keeps it."""
    status, tracker = http("GET", f"{stack.rasa}/conversations/{quote(conversation_id)}/tracker"
                           f"?include_events=ALL", headers=stack.rasa_api_headers())
    assert status == 200, tracker
    return [event.get("text") or "" for event in tracker["events"] if event.get("event") in ("user", "bot")]


def advocate_says(stack, conversation_id: str, words: str) -> None:
    """As the console sends it (console/rasa_api.py `say_as_advocate`)."""
    status, body = http("POST", f"{stack.rasa}/conversations/{quote(conversation_id)}/tracker/events"
                        f"?output_channel=latest&execute_side_effects=true",
                        {"event": "bot", "text": words, "metadata": {"advocate": ADVOCATE_NAME}},
                        headers=stack.rasa_api_headers())
    assert status == 200, body


ASK = "I need legal help in Omaha, NE"
ANSWER = "Old Market Survivor Law"


@pytest.mark.e2e
def test_an_advocates_reply_comes_marked_live_and_in_the_history_without_their_name(channel_stack):
    words = "I am here with you. Take your time."

    async def scenario():
        chat = await Chat(channel_stack).open()
        await chat.say("I want to talk to a person", "1")
        await asyncio.to_thread(advocate_says, channel_stack, chat.session, words)
        live = await chat.next("bot", timeout=10)
        while live["text"] != words:
            live = await chat.next("bot", timeout=10)
        await chat.close()
        again = await Chat(channel_stack).resume(chat)
        await again.close()
        return chat, live, again

    chat, live, again = asyncio.run(scenario())
    assert live.get("advocate") is True
    assert again.session == chat.session
    marked = [(line["text"], line.get("advocate", False)) for line in again.history if line["from"] == "bot"]
    assert (words, True) in marked and any(not advocate for _, advocate in marked)  # the bot's are not marked
    assert not any(NAME.search(raw) for raw in chat.raw + again.raw)  # who the advocate is stays in the console


@pytest.mark.e2e
def test_erase_deletes_the_conversation_and_its_session_never_brings_it_back(channel_stack):
    async def scenario():
        chat = await Chat(channel_stack).open()
        await chat.say(ASK, "1")
        assert any(ANSWER in text for text in await asyncio.to_thread(tracker_texts, channel_stack, chat.session))
        other_tab = await Chat(channel_stack).resume(chat)  # a duplicated tab shares the session
        assert any(ANSWER in line["text"] for line in other_tab.history)
        await chat.send({"type": "erase"})
        erased = await chat.next("erased", timeout=30)
        assert await chat.closed() and await other_tab.closed()
        assert any(json.loads(raw)["type"] == "erased" for raw in other_tab.raw)
        comeback = await Chat(channel_stack).resume(chat)  # the old id and secret, as a stale tab sends them
        await comeback.close()
        return chat, erased, comeback

    chat, erased, comeback = asyncio.run(scenario())
    assert erased == {"type": "erased"}
    assert comeback.history == [] and comeback.session != chat.session  # a new, empty conversation
    texts = tracker_texts(channel_stack, chat.session)
    assert not any(ASK in text or ANSWER in text for text in texts)


@pytest.mark.e2e
def test_a_quick_exit_resets_the_chat_but_does_not_erase_it(channel_stack):
    async def scenario():
        chat = await Chat(channel_stack).open()
        await chat.say(ASK, "1")
        await chat.send({"type": "exit"})
        assert await chat.closed()
        return chat

    chat = asyncio.run(scenario())
    deadline = time.monotonic() + 10
    texts = tracker_texts(channel_stack, chat.session)
    while "exit" not in texts and time.monotonic() < deadline:  # the reset runs once the socket is closed
        time.sleep(0.2)
        texts = tracker_texts(channel_stack, chat.session)
    assert "exit" in texts and ASK in texts  # reset, not erased (kept under the retention rules)


@pytest.mark.e2e
def test_a_claim_and_a_hand_back_are_told_in_the_chat(channel_stack):
    """The survivor knows when a person joins (by the name the advocate chose) and when they leave."""
    added = subprocess.run([NAVIGATOR, "advocates", "add", "rosa", "--password-stdin", "--display-name", "Rosa"],
                           cwd=ROOT, env=channel_stack.env, input=PASSWORD + "\n", capture_output=True, text=True,
                           timeout=120)
    assert added.returncode == 0, added.stderr
    rosa = Browser(channel_stack.console)
    assert rosa.sign_in("rosa")[0] == 303
    created = channel_stack.cli("tokens", "create", "webchat-claim-test")
    token = created.stdout.strip().splitlines()[-1]

    def handoff_of(session):
        rows = http("GET", f"{channel_stack.console}/api/handoffs?status=open",
                    headers={"Authorization": f"Bearer {token}"})[1]
        return next((row["id"] for row in rows if row["conversation_id"] == session), None)

    async def bot_says(chat, text):
        frame = await chat.next("bot", timeout=20)
        while frame["text"] != text:
            frame = await chat.next("bot", timeout=20)
        return frame

    async def scenario():
        chat = await Chat(channel_stack).open()
        await chat.say("I want to talk to a person", "1")
        assert await asyncio.to_thread(wait_until, lambda: handoff_of(chat.session), 5, 0.2)
        number = handoff_of(chat.session)
        await asyncio.to_thread(rosa.get, f"/handoffs/{number}")
        assert (await asyncio.to_thread(rosa.post, f"/handoffs/{number}/claim"))[0] == 303
        joined = await bot_says(chat, words_of("utter_advocate_joined").format(advocate_name="Rosa"))
        assert (await asyncio.to_thread(rosa.post, f"/handoffs/{number}/handback"))[0] == 303
        left = await bot_says(chat, words_of("utter_handback"))
        await chat.close()
        return joined, left

    joined, left = asyncio.run(scenario())
    assert "real person" in joined["text"] and "earlier messages" in joined["text"]
    assert left["text"].startswith("The advocate has left this chat")
