"""`navigator purge`: conversations and their records go from every store, and the text is in
no database file afterwards."""
import asyncio
import datetime as dt
import io
import time

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text as text_

from conversations.alerts import Alert
from conversations.handoffs import close_handoff, list_handoffs, open_handoff
from conversations.retention import DailyPurge, PurgeReport, purge, retention_days
from infra import db
from navigator import schema
from navigator.cli import main
from tests.helpers import wait_until

DAY = 86400


def save_conversation(store, sender, text, when):
    tracker = DialogueStateTracker.from_events(sender, [UserUttered(text, timestamp=when),
                                                         BotUttered("Here is help.", timestamp=when + 1)])
    asyncio.run(store.save(tracker))


def continue_conversation(store, sender, text, when):
    """A later message and its answer in a conversation already stored."""
    tracker = asyncio.run(store.retrieve(sender))
    tracker.update(UserUttered(text, timestamp=when))
    tracker.update(BotUttered("Here is more help.", timestamp=when + 1))
    asyncio.run(store.save(tracker))


def file_bytes(path):
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def stores(tmp_path, monkeypatch):
    tracker_path, directory_path = tmp_path / "tracker.db", tmp_path / "navigator.db"
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tracker_path}")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{directory_path}")
    schema.create_schema()
    return SQLTrackerStore(dialect="sqlite", db=str(tracker_path)), tracker_path, directory_path


def sqlite_without_secure_delete(path):
    """An engine on a SQLite whose default is to leave deleted rows in free pages (many builds;
    Debian's turns secure_delete on at compile time, which would hide a missing purge step)."""
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}", future=True)
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA secure_delete=OFF"))
    return engine


def test_purge_older_than_keeps_recent_conversations_and_erases_old_text(tmp_path, monkeypatch):
    store, tracker_path, directory_path = stores(tmp_path, monkeypatch)
    now = time.time()
    save_conversation(store, "old-conv", "zebra-secret-old he hurt me", now - 40 * DAY)
    save_conversation(store, "new-conv", "zebra-secret-new need a lawyer", now - 1 * DAY)
    with db.session_scope() as session:
        old = open_handoff(session, "old-conv", "rest", "emergency", "danger")
        open_handoff(session, "new-conv", "rest", "request", "request")
        session.add(Alert(handoff_id=old.id, priority="emergency", recipients=1, delivered=1))
        session.flush()
        old_id = old.id
        close_handoff(session, old_id, "sam", "connected")

    report = purge(30, tracker_engine=sqlite_without_secure_delete(tracker_path))

    assert report.conversations == 1
    assert asyncio.run(store.retrieve("old-conv")) is None
    assert asyncio.run(store.retrieve("new-conv")) is not None
    with db.session_scope() as session:
        assert [h.conversation_id for h in list_handoffs(session)] == ["new-conv"]
        assert session.query(Alert).filter_by(handoff_id=old_id).count() == 0  # the alert went with it
    assert b"zebra-secret-old" not in file_bytes(tracker_path)
    assert b"zebra-secret-new" in file_bytes(tracker_path)


def test_purge_zero_from_the_cli_deletes_everything(tmp_path, monkeypatch, capsys):
    store, tracker_path, _ = stores(tmp_path, monkeypatch)
    save_conversation(store, "c1", "zebra-secret-one", time.time() - 60)
    assert main(["purge", "--older-than", "0"]) == 0
    assert "conversations deleted: 1" in capsys.readouterr().out
    assert asyncio.run(store.retrieve("c1")) is None
    assert b"zebra-secret-one" not in file_bytes(tracker_path)


def test_negative_days_is_a_clear_error(tmp_path, monkeypatch):
    stores(tmp_path, monkeypatch)
    try:
        main(["purge", "--older-than", "-1"])
    except SystemExit as error:
        assert "0 or more" in str(error)
    else:
        raise AssertionError("negative days accepted")


def test_purge_forgets_the_texters_number_with_the_conversation(tmp_path, monkeypatch):
    from bot.channels.sms import store as sms_store

    store, _, directory_path = stores(tmp_path, monkeypatch)
    engine = db.get_engine()
    conversation = sms_store.texter_for_phone("+15550104004", engine)
    conversation_id = getattr(conversation, "conversation_id", conversation)
    sms_store.claim_message("SM-old-one", engine)
    save_conversation(store, conversation_id, "zebra-sms-text", time.time() - 40 * DAY)

    purge(30, now=time.time() + 40 * DAY)

    assert b"+15550104004" not in file_bytes(directory_path)
    assert sms_store.claim_message("SM-old-one", engine) is True  # its record went too


def test_the_default_retention_is_30_days_can_be_set_or_turned_off_and_nonsense_is_refused(monkeypatch):
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    assert retention_days() == 30
    for raw, days in (("7", 7), ("0.5", 0.5), (" OFF ", None)):
        monkeypatch.setenv("RETENTION_DAYS", raw)
        assert retention_days() == days
    for raw in ("0", "-3", "thirty", "inf", "nan"):
        monkeypatch.setenv("RETENTION_DAYS", raw)
        with pytest.raises(SystemExit, match="RETENTION_DAYS"):
            retention_days()


def test_the_running_navigator_purges_at_start_and_again_each_interval(tmp_path, monkeypatch):
    store, tracker_path, _ = stores(tmp_path, monkeypatch)
    now = time.time()
    save_conversation(store, "old-1", "zebra-secret-first", now - 31 * DAY)
    save_conversation(store, "recent", "zebra-secret-recent", now - 2 * DAY)
    out = io.StringIO()
    daily = DailyPurge(30, interval_s=0.3, out=out)
    daily.start()
    try:
        assert wait_until(lambda: daily.runs >= 1, 10)
        assert asyncio.run(store.retrieve("old-1")) is None
        save_conversation(store, "old-2", "zebra-secret-second", now - 45 * DAY)
        assert wait_until(lambda: asyncio.run(store.retrieve("old-2")) is None, 10)
    finally:
        daily.stop()
        daily.join(5)
    assert asyncio.run(store.retrieve("recent")) is not None
    assert b"zebra-secret-second" not in file_bytes(tracker_path)
    assert "conversations deleted: 1" in out.getvalue() and "zebra" not in out.getvalue()


def test_a_failed_daily_purge_is_reported_and_tried_again():
    attempts = []

    def purge_once():
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise OSError("database is down")
        return PurgeReport(conversations=2)

    out = io.StringIO()
    daily = DailyPurge(30, interval_s=0.1, purge_once=purge_once, out=out)
    daily.start()
    assert wait_until(lambda: len(attempts) >= 2, 10)
    daily.stop()
    daily.join(5)
    assert "the purge failed (OSError)" in out.getvalue() and "conversations deleted: 2" in out.getvalue()


def closed_long_ago(handoff_id, days):
    from sqlalchemy import text

    with db.session_scope() as session:
        session.execute(text("UPDATE handoff SET created_at = :at, closed_at = :at WHERE id = :id"),
                        {"at": dt.datetime.utcnow() - dt.timedelta(days=days), "id": handoff_id})


def test_a_handoff_not_closed_keeps_its_whole_conversation_and_a_closed_one_goes_once_old(tmp_path, monkeypatch):
    """An advocate may still be reading an old emergency: the purge leaves it whole, and says so."""
    store, tracker_path, _ = stores(tmp_path, monkeypatch)
    now = time.time()
    save_conversation(store, "waiting", "zebra-still-waiting he took my phone", now - 40 * DAY)
    save_conversation(store, "live", "zebra-live-old where can I sleep", now - 40 * DAY)
    continue_conversation(store, "live", "zebra-live-new thanks", now - 1 * DAY)
    with db.session_scope() as session:
        waiting = open_handoff(session, "waiting", "rest", "emergency", "danger").id
        done = open_handoff(session, "live", "rest", "request", "request")
        session.add(Alert(handoff_id=waiting, priority="emergency", recipients=1, delivered=1))
        session.flush()
        done = close_handoff(session, done.id, "sam", "connected").id
    closed_long_ago(done, 35)
    with db.session_scope() as session:
        session.execute(text_("UPDATE alert SET created_at = :at"), {"at": dt.datetime.utcnow() - dt.timedelta(days=40)})

    report = purge(30)

    assert report.kept_for_handoff == 1 and report.conversations_trimmed == 1
    assert any("kept whole, their handoff not closed: 1" in line for line in report.lines())
    assert [event.text for event in asyncio.run(store.retrieve("waiting")).events
            if isinstance(event, UserUttered)] == ["zebra-still-waiting he took my phone"]
    with db.session_scope() as session:
        assert [h.id for h in list_handoffs(session)] == [waiting]  # the closed one went, 35 days after closing
        assert session.query(Alert).filter_by(handoff_id=waiting).count() == 1
    files = file_bytes(tracker_path)
    assert b"zebra-live-old" not in files and b"zebra-live-new" in files and b"zebra-still-waiting" in files
