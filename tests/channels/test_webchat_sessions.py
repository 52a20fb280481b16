"""The web chat's sessions (bot/channels/webchat/sessions.py and the hello in webchat.py): a session
resumes only with the secret it was issued with, the secret is never stored, any Rasa server
sharing DATABASE_URL can check it, and erase, purge and quick exit end it. In-process."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
from types import SimpleNamespace
from typing import Any, List

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot.channels.webchat import sessions as webchat_sessions
from bot.channels.webchat.socket import WebChatInput
from conversations import retention
from infra import db
from navigator import schema
from tests.channels.test_webchat_protocol import domain

SAID = "He took my phone last night"
ANSWERED = "I am sorry. You can talk to an advocate here."


@pytest.fixture
def engine(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/navigator.db")
    schema.create_schema(engine)
    return engine


def test_a_session_resumes_with_its_secret_only_and_the_secret_is_not_stored(engine, tmp_path):
    secret = webchat_sessions.issue("web-" + "a" * 22, engine)
    assert len(secret) >= 43  # 32 random bytes
    assert webchat_sessions.resume("web-" + "a" * 22, secret, engine)
    other_server = db.make_engine(f"sqlite:///{tmp_path}/navigator.db")  # another Rasa server, same database
    assert webchat_sessions.resume("web-" + "a" * 22, secret, other_server)
    for wrong in (None, "", secret[:-1], secret + "x", secret.upper(), 42, "x" * 10_000):
        assert not webchat_sessions.resume("web-" + "a" * 22, wrong, engine), wrong
    assert not webchat_sessions.resume("web-" + "b" * 22, secret, engine)  # never issued
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM webchat_session").fetchall()
    assert len(rows) == 1 and secret not in str(rows)


def test_erase_and_purge_end_the_session_with_the_conversation(engine, tmp_path):
    tracker_engine = db.make_engine(f"sqlite:///{tmp_path}/tracker.db")
    erased, kept, stale = ("web-" + c * 22 for c in "xyz")
    secrets = {session: webchat_sessions.issue(session, engine) for session in (erased, kept, stale)}
    retention.erase_conversation(erased, engine, tracker_engine)
    assert not webchat_sessions.resume(erased, secrets[erased], engine)
    assert webchat_sessions.resume(kept, secrets[kept], engine)
    with db.session_scope(engine) as session:  # idle for 40 days
        row = session.execute(select(webchat_sessions.WebChatSession).where(
            webchat_sessions.WebChatSession.conversation_id == stale)).scalar_one()
        row.last_seen_at = dt.datetime.utcnow() - dt.timedelta(days=40)
    report = retention.purge(30, engine, tracker_engine)
    assert report.records["webchat_session"] == 1
    assert not webchat_sessions.resume(stale, secrets[stale], engine)
    assert webchat_sessions.resume(kept, secrets[kept], engine)


# --- the hello, with stand-ins for the agent and the sockets ---------------------------------------

class HelloSocket:
    """A socket that says one hello, and records what the server sends it."""

    def __init__(self, hello: dict):
        self.hello = json.dumps(hello)
        self.sent: List[dict] = []

    async def recv(self, timeout: Any = None) -> str:
        return self.hello

    async def send(self, data: str) -> None:
        self.sent.append(json.loads(data))

    async def close(self, *args: Any, **kwargs: Any) -> None:
        pass


def webchat_on(engine, tracker_store=None) -> WebChatInput:
    """The web chat of one Rasa server, on this DATABASE_URL and (given) a shared tracker store."""
    webchat = WebChatInput()
    agent = SimpleNamespace(nlg=TemplatedNaturalLanguageGenerator(domain().responses),
                            lock_store=InMemoryLockStore(), tracker_store=tracker_store or InMemoryTrackerStore(domain()))
    webchat.words.attach(SimpleNamespace(ctx=SimpleNamespace(agent=agent)))
    webchat.session_engine = engine
    return webchat


def greet(webchat: WebChatInput, hello: dict):
    socket = HelloSocket({"type": "hello", "seen": 0, "full": True, **hello})
    session = asyncio.run(webchat._greet(socket))
    return session, socket.sent


def test_a_hello_resumes_only_with_the_secret(engine):
    webchat = webchat_on(engine)
    session, sent = greet(webchat, {"session": None})
    assert sent[0]["type"] == "session" and sent[0]["session"] == session and sent[0]["secret"]
    secret = sent[0]["secret"]
    asyncio.run(webchat.words.agent.tracker_store.save(DialogueStateTracker.from_events(
        session, [UserUttered(SAID), BotUttered(ANSWERED)])))

    another_server = webchat_on(engine, webchat.words.agent.tracker_store)
    again, sent = greet(another_server, {"session": session, "secret": secret})  # a reload, on another server
    assert again == session and "secret" not in sent[0]  # the tab has it already
    assert [line["text"] for line in sent[1]["messages"]] == [SAID, ANSWERED]

    for wrong in ({"session": session}, {"session": session, "secret": "guess"},
                  {"session": session, "secret": secret[:-2] + "AA"}):
        other, sent = greet(webchat, wrong)
        assert other != session and sent[0]["session"] == other and sent[0]["secret"] not in (None, secret)
        assert sent[1] == {"type": "history", "full": True, "messages": []}
        assert SAID not in json.dumps(sent)
    assert len(webchat.sockets.by_session[session]) == 1  # only the first hello joined it here
    assert len(another_server.sockets.by_session[session]) == 1


def test_the_database_being_down_starts_a_new_session_that_cannot_be_resumed(tmp_path):
    webchat = webchat_on(db.make_engine(f"sqlite:///{tmp_path}/no-schema.db"))  # no table: every query fails
    session, sent = greet(webchat, {"session": "web-" + "a" * 22, "secret": "x"})
    assert session != "web-" + "a" * 22 and sent[1]["messages"] == []  # the person can still chat
    again, _ = greet(webchat, {"session": session, "secret": sent[0]["secret"]})
    assert again != session


def test_a_quick_exit_ends_the_session(engine):
    webchat = webchat_on(engine)
    session, sent = greet(webchat, {"session": None})
    ran = []

    async def on_new_message(message):
        ran.append(message.text)
    asyncio.run(webchat._end(session, on_new_message))
    assert ran  # the conversation was reset
    assert not webchat_sessions.resume(session, sent[0]["secret"], engine)
