"""Finding 7 (issue 14): retention was per sender, not per message. A purge deleted a conversation
only when its NEWEST event was older than the cut-off (conversations/retention.py), and an SMS
conversation id is stable per phone number, so a survivor who texts every few weeks kept their
whole history for ever, readable by every advocate in the console's transcript (Rasa's tracker).

The attack: a conversation with a message from 40 days ago and one from yesterday; the
operator's `navigator purge --older-than 30` (or the daily purge) runs; a curious insider (or a
subpoena) then reads the tracker store: raw SQL over Rasa's `events` table, the SQLite file's
bytes, on SQLite and on PostgreSQL.

What must happen: the 40-day-old message is in no row and no byte of the tracker store, and so
are the records older than the cut-off of a conversation that goes on (a handoff closed long ago,
an old outbox row; its old texts at Twilio are handed to the Twilio eraser), while yesterday's
message stays, and the conversation still answers its next message, also when the cut fell
inside its current session.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
import uuid

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.sms import erasure as twilio_erasure
from bot.channels.sms import outbox as sms_outbox
from bot.channels.sms import store as sms_store
from conversations.handoffs import close_handoff, list_handoffs, open_handoff
from infra import db
from navigator import schema
from navigator.cli import main
from navigator.setup import model_path
from tests.helpers import Stack

DAY = 86400
OLD_WORDS = "zebra-old-words what can you do"
NEW_WORDS = "zebra-new-words thanks"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(params=["sqlite", "postgresql"])
def tracker(request, tmp_path, monkeypatch):
    """(Rasa's SQL tracker store, an engine on its database, its SQLite file or None)."""
    if request.param == "sqlite":
        path = tmp_path / "tracker.db"
        monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{path}")
        yield SQLTrackerStore(dialect="sqlite", db=str(path)), db.make_engine(f"sqlite:///{path}"), path
        return
    name = f"navigator_retention_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # no server on this machine
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL retention test: {type(error).__name__}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    monkeypatch.setenv("TRACKER_STORE_URL", url)
    parsed = sa.engine.make_url(url)
    store = SQLTrackerStore(dialect="postgresql", host=parsed.host, port=parsed.port, db=name,
                            username=parsed.username)
    engine = db.make_engine(url)
    yield store, engine, None
    engine.dispose()
    store.engine.dispose()
    db.engine_for.cache_clear()  # the purge's own engine on this database
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def directory(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'navigator.db'}")
    monkeypatch.setenv("TWILIO_ERASE_DELAY_S", "0")
    schema.create_schema()
    return db.get_engine()


def turn(text, when):
    return [ActionExecuted("action_listen", timestamp=when), UserUttered(text, timestamp=when + 0.1),
            BotUttered("Here is help.", timestamp=when + 0.2)]


def save(store, sender, events):
    tracker = asyncio.run(store.retrieve(sender)) or DialogueStateTracker(sender, [])
    for event in events:
        tracker.update(event)
    asyncio.run(store.save(tracker))


def event_texts(engine, sender):
    with engine.connect() as connection:
        return [data for (data,) in connection.execute(
            sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender})]


def file_bytes(path):
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_an_old_message_goes_from_a_conversation_that_goes_on(tracker, directory, capsys):
    store, engine, path = tracker
    now = time.time()
    sender = sms_store.texter_for_phone("+15550170701", directory).conversation_id
    old_session = [ActionExecuted("action_session_start", timestamp=now - 40 * DAY),
                   SessionStarted(timestamp=now - 40 * DAY), *turn(OLD_WORDS, now - 40 * DAY)]
    new_session = [ActionExecuted("action_session_start", timestamp=now - DAY),
                   SessionStarted(timestamp=now - DAY), *turn(NEW_WORDS, now - DAY)]
    save(store, sender, old_session)
    save(store, sender, new_session)
    long_ago = dt.datetime.utcnow() - dt.timedelta(days=40)
    with db.session_scope(directory) as session:  # a handoff of the old session, closed long ago
        handoff = open_handoff(session, sender, "twilio", "request", "request")
        session.flush()
        close_handoff(session, handoff.id, "sam", "connected")
        session.execute(sa.text("UPDATE handoff SET created_at = :at, closed_at = :at"), {"at": long_ago})
    twilio_erasure.remember(sender, "SMold-text", directory)
    twilio_erasure.remember(sender, "SMnew-text", directory)
    sms_outbox.queue_replies(sender, ["zebra-old-outbox"], sms_store.utcnow(), directory)
    with directory.begin() as connection:
        connection.execute(sa.text("UPDATE sms_twilio_message SET created_at = :at WHERE id = "
                                   "(SELECT MIN(id) FROM sms_twilio_message)"), {"at": long_ago})
        connection.execute(sa.text("UPDATE sms_outbox SET created_at = :at"), {"at": long_ago})

    assert main(["purge", "--older-than", "30"]) == 0

    kept = event_texts(engine, sender)
    assert kept and not [data for data in kept if "zebra-old-words" in data]  # raw SQL over `events`
    assert [data for data in kept if "zebra-new-words" in data]
    out = capsys.readouterr().out
    assert "conversations going on, older messages deleted: 1" in out and "zebra" not in out
    if path is not None:
        assert b"zebra-old-words" not in file_bytes(path) and b"zebra-new-words" in file_bytes(path)
    tracker_now = asyncio.run(store.retrieve(sender))  # what Rasa (and the transcript) loads
    assert [e.text for e in tracker_now.events if isinstance(e, UserUttered)] == [NEW_WORDS]
    with db.session_scope(directory) as session:
        assert list_handoffs(session) == []
        assert not sms_outbox.has_queued(sender, directory)
        detached = session.execute(sa.text("SELECT conversation_id FROM sms_twilio_message ORDER BY id")).scalars().all()
    assert detached == [None, sender]  # the old text is the Twilio eraser's now; the recent one stays
    assert sms_store.texter_for_conversation(sender, directory).phone == "+15550170701"  # still answerable


@pytest.mark.e2e
def test_a_trimmed_conversation_still_answers_also_when_the_cut_falls_inside_its_session(tmp_path):
    """Through the running navigator: the old turns' timestamps are moved 40 days back (as if
    said then), the purge runs, and the next message is answered and saved coherently."""
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    stack = Stack(tmp_path)
    stack.start()
    try:
        tracker_engine = db.make_engine(stack.env["TRACKER_STORE_URL"])
        # One conversation whose old session is 40 days old; one whose CURRENT session began
        # 40 days ago (its first turn moved back, its second kept): the cut falls inside it.
        def move_back(sender, up_to_id=None):
            with tracker_engine.begin() as connection:
                connection.execute(sa.text("UPDATE events SET timestamp = timestamp - :shift WHERE sender_id = :s "
                                           "AND id <= :last"), {"shift": 40 * DAY, "s": sender,
                                                                "last": up_to_id or 2 ** 62})

        def last_id(sender):
            with tracker_engine.connect() as connection:
                return connection.execute(sa.text("SELECT MAX(id) FROM events WHERE sender_id = :s"),
                                          {"s": sender}).scalar()

        stack.say("rest-trimmed-between", f"hello {OLD_WORDS}")
        move_back("rest-trimmed-between")
        stack.say("rest-trimmed-between", f"hello again {NEW_WORDS}")  # a new session: 40 days passed
        stack.say("rest-trimmed-inside", f"hello {OLD_WORDS}")
        first_turn = last_id("rest-trimmed-inside")
        stack.say("rest-trimmed-inside", f"thanks {NEW_WORDS}")  # the same session, minutes later
        move_back("rest-trimmed-inside", first_turn)

        purged = stack.cli("purge", "--older-than", "30")
        assert purged.returncode == 0, purged.stderr
        assert "conversations going on, older messages deleted: 2" in purged.stdout

        for sender in ("rest-trimmed-between", "rest-trimmed-inside"):
            assert not [data for data in event_texts(tracker_engine, sender) if "zebra-old-words" in data]
            reply = stack.say(sender, "I need a shelter")
            assert "Where should I look?" in reply, f"{sender}: {reply!r}"  # utter_ask_place: the bot goes on
            texts = event_texts(tracker_engine, sender)
            assert not [data for data in texts if "zebra-old-words" in data]  # not written back by the turn
            assert len([data for data in texts if '"I need a shelter"' in data]) == 1  # saved once
        assert b"zebra-old-words" not in file_bytes(tmp_path / "tracker.db")
    finally:
        stack.stop()
