"""What the SMS line keeps: handled MessageSids (across restarts), texters' random conversation
ids and their opt-outs, found by a keyed hash of the number and answered through an encrypted
copy of it, never the number in plain text; and replies waiting for Twilio, encrypted."""
import datetime as dt
import hashlib
import sqlite3

import pytest

from bot.channels.sms import outbox as sms_outbox
from bot.channels.sms import store as sms_store
from infra import db
from navigator import schema

PHONE = "+15555550123"
NUMBER_FORMS = (b"+15555550123", b"5555550123", b"555-555-0123")


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path}/navigator.db"
    schema.create_schema(db.make_engine(url))
    return url


def file_bytes(url):
    path = url[len("sqlite:///"):]
    data = open(path, "rb").read()
    try:
        return data + open(path + "-wal", "rb").read()
    except FileNotFoundError:
        return data


def test_a_message_sid_is_handled_once_even_after_a_restart(database):
    assert sms_store.claim_message("SM123", db.make_engine(database)) is True
    assert sms_store.claim_message("SM123", db.make_engine(database)) is False  # a new process, same database
    assert sms_store.claim_message("SM124", db.make_engine(database)) is True


def test_the_sid_itself_is_not_stored(database):
    engine = db.make_engine(database)
    sms_store.claim_message("SMsecret-sid", engine)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM sms_handled_message").fetchall()
    assert "SMsecret-sid" not in str(rows)


def test_a_texter_keeps_one_random_conversation_id_that_is_not_their_number(database):
    engine = db.make_engine(database)
    first = sms_store.texter_for_phone("+15550104001", engine)
    again = sms_store.texter_for_phone("+15550104001", db.make_engine(database))
    other = sms_store.texter_for_phone("+15550104002", engine)
    assert first.conversation_id == again.conversation_id != other.conversation_id
    assert first.conversation_id.startswith("sms-") and "5550104001" not in first.conversation_id
    assert sms_store.texter_for_conversation(first.conversation_id, engine).phone == "+15550104001"
    assert sms_store.texter_for_conversation("rest-sender", engine) is None


def test_the_number_is_in_no_byte_of_the_database_file(database):
    engine = db.make_engine(database)
    texter = sms_store.texter_for_phone(PHONE, engine)
    sms_store.set_opted_out(texter.conversation_id, False, engine)
    assert sms_store.texter_for_conversation(texter.conversation_id, engine).phone == PHONE  # still answerable
    stored = file_bytes(database)
    assert texter.conversation_id.encode() in stored  # the file was written
    assert not [form for form in NUMBER_FORMS if form in stored]
    plain_sha256 = hashlib.sha256(PHONE.encode()).hexdigest().encode()
    assert plain_sha256 not in stored  # keyed: nobody can hash a guessed number and look it up


def test_the_same_number_written_another_way_is_the_same_texter(database):
    engine = db.make_engine(database)
    assert (sms_store.texter_for_phone("+1 (555) 555-0123", engine).conversation_id
            == sms_store.texter_for_phone(PHONE, engine).conversation_id)


def test_under_another_secret_the_hash_differs_and_the_number_cannot_be_read(database, monkeypatch):
    engine = db.make_engine(database)
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", "a" * 40)
    texter = sms_store.texter_for_phone(PHONE, engine)
    hash_a = sms_store.phone_hash(PHONE)
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", "b" * 40)
    assert sms_store.phone_hash(PHONE) != hash_a
    assert sms_store.texter_for_conversation(texter.conversation_id, engine) is None  # not a wrong number
    assert sms_store.texter_for_phone(PHONE, engine).conversation_id != texter.conversation_id
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", "a" * 40)
    assert sms_store.texter_for_conversation(texter.conversation_id, engine).phone == PHONE


def test_stop_and_start_are_remembered(database):
    engine = db.make_engine(database)
    texter = sms_store.texter_for_phone("+15550104003", engine)
    sms_store.set_opted_out(texter.conversation_id, True, engine)
    assert sms_store.texter_for_phone("+15550104003", engine).opted_out is True
    sms_store.set_opted_out(texter.conversation_id, False, engine)
    assert sms_store.texter_for_conversation(texter.conversation_id, engine).opted_out is False


def test_a_delete_request_is_remembered_until_forgotten(database):
    engine = db.make_engine(database)
    texter = sms_store.texter_for_phone("+15550104005", engine)
    assert texter.delete_requested_at is None
    sms_store.set_delete_requested(texter.conversation_id, True, engine)
    requested = sms_store.texter_for_phone("+15550104005", engine).delete_requested_at
    assert requested is not None and dt.timedelta(0) <= sms_store.utcnow() - requested < dt.timedelta(minutes=1)
    sms_store.set_delete_requested(texter.conversation_id, False, engine)
    assert sms_store.texter_for_phone("+15550104005", engine).delete_requested_at is None


def test_waiting_replies_are_encrypted_and_come_back_oldest_first_per_texter(database):
    engine = db.make_engine(database)
    one = sms_store.texter_for_phone("+15550104006", engine).conversation_id
    two = sms_store.texter_for_phone("+15550104007", engine).conversation_id
    now = sms_store.utcnow()
    sms_outbox.queue_replies(one, ["zebra-first reply", "zebra-second reply"], now, engine)
    sms_outbox.queue_replies(two, ["other texter"], now + dt.timedelta(minutes=5), engine)  # not due yet
    assert b"zebra-" not in file_bytes(database)
    assert sms_outbox.has_queued(one, engine) and not sms_outbox.has_queued("sms-nobody", engine)

    (head,) = sms_outbox.claim_due_replies(now, dt.timedelta(seconds=60), engine=engine)
    assert (head.conversation_id, head.body) == (one, "zebra-first reply")
    assert sms_outbox.claim_due_replies(now, dt.timedelta(seconds=60), engine=engine) == []  # leased, and in order
    sms_outbox.sent(head.id, engine)
    (second,) = sms_outbox.claim_due_replies(now, dt.timedelta(seconds=60), engine=engine)
    assert second.body == "zebra-second reply"
    assert sms_outbox.drop_queued(one, engine) == 1 and not sms_outbox.has_queued(one, engine)


def test_an_older_database_with_plain_numbers_is_sealed_and_keeps_its_texters(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # the table as the version before this one created it
        old.executescript("""
            PRAGMA secure_delete=OFF;
            CREATE TABLE sms_contact (conversation_id VARCHAR(64) NOT NULL PRIMARY KEY,
                phone VARCHAR(64) NOT NULL UNIQUE, opted_out BOOLEAN NOT NULL, created_at DATETIME NOT NULL,
                last_seen_at DATETIME NOT NULL);
            CREATE INDEX ix_sms_contact_last_seen_at ON sms_contact (last_seen_at);
            INSERT INTO sms_contact VALUES ('sms-old-one', '+15555550123', 0, '2026-01-02 03:04:05.000000',
                                            '2026-01-02 03:04:05.000000');
            INSERT INTO sms_contact VALUES ('sms-old-two', '+15555550124', 1, '2026-01-03 03:04:05.000000',
                                            '2026-01-03 03:04:05.000000');
        """)
    assert b"5555550123" in path.read_bytes()
    engine = db.make_engine(f"sqlite:///{path}")

    schema.create_schema(engine)

    assert not [form for form in NUMBER_FORMS if form in file_bytes(f"sqlite:///{path}")]
    assert sms_store.texter_for_phone(PHONE, engine).conversation_id == "sms-old-one"
    kept = sms_store.texter_for_phone("+15555550124", engine)
    assert kept.conversation_id == "sms-old-two" and kept.opted_out is True
    assert sms_store.texter_for_conversation("sms-old-one", engine).phone == PHONE
    schema.create_schema(engine)  # a second set-up changes nothing
    assert sms_store.texter_for_phone(PHONE, engine).conversation_id == "sms-old-one"


def test_a_texter_hashed_under_a_previous_secret_is_found_and_moved_to_the_current_one(database, monkeypatch):
    from infra.rekey import rekey

    engine = db.make_engine(database)
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", "a" * 40)
    old = sms_store.texter_for_phone(PHONE, engine).conversation_id
    moved = sms_store.texter_for_phone("+15550104010", engine).conversation_id
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", "b" * 40)
    stranger = sms_store.texter_for_phone(PHONE, engine).conversation_id  # B alone: a new conversation...
    assert stranger != old and sms_store.texter_for_conversation(old, engine) is None  # ...and the old row is kept
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY_PREVIOUS", "a" * 40)
    assert sms_store.texter_for_phone("+15550104010", engine).conversation_id == moved  # found, re-hashed on use
    report = rekey(engine)
    assert report.resealed["sms_contact"] == 1 and report.superseded["sms_contact"] == 1  # the newer row keeps its hash
    monkeypatch.delenv("NAVIGATOR_SECRET_KEY_PREVIOUS")
    assert sms_store.texter_for_phone("+15550104010", engine).conversation_id == moved
    assert sms_store.texter_for_conversation(old, engine).phone == PHONE  # re-sealed: readable under B alone
    assert sms_store.texter_for_phone(PHONE, engine).conversation_id == stranger
