"""Finding 8 (issue 14): changing the secret key silently dropped what was sealed under the old
one. Rows no key could open were forgotten: the Twilio deletion list (bot/channels/sms/erasure)
lost the SIDs of texts still to delete at Twilio, which then stayed there for Twilio's full
retention (400 days by default); the outbox deleted waiting replies; a texter hashed under the old
key was a stranger and got a new conversation. There was no key ring.

The attack (or the accident it allows): seal texters' numbers, a waiting reply and the Twilio
deletion list under secret A, then restart with secret B, with A as NAVIGATOR_SECRET_KEY_PREVIOUS,
and then with B alone.

What must happen: with A as previous, the texter finds their own conversation, the waiting reply
is sent, and the eraser deletes the texts at the Twilio stand-in; `navigator rekey` re-seals every
row under B, after which A can be dropped. With B alone nothing is dropped: every row is kept, an
ERROR is logged with counts (no content), `navigator purge` reports the rows no secret opens, and
bringing A back as previous makes them work again.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from bot.channels.sms import erasure as twilio_erasure
from bot.channels.sms import outbox as sms_outbox
from bot.channels.sms import store as sms_store
from bot.channels.sms.erasure import TwilioEraser
from bot.channels.sms.outbox import SmsOutbox
from conversations.retention import erase_conversation, purge
from infra import db, secret_key
from infra.twilio_client import TwilioSettings
from navigator import schema
from navigator.cli import main
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER

SECRET_A = "secret-A-0123456789abcdefghijklmnopqrstuvwxyz"
SECRET_B = "secret-B-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210"
TEXTER = "+15550180801"
ERASED_TEXTER = "+15550180802"
WAITING = "zebra-waiting reply for the texter"


@pytest.fixture
def clock(monkeypatch):
    """The outbox's and eraser's clock, moved on instead of waited for."""
    real_utcnow = sms_store.utcnow
    offset = [dt.timedelta(0)]
    monkeypatch.setattr(sms_store, "utcnow", lambda: real_utcnow() + offset[0])
    monkeypatch.setattr(sms_outbox, "utcnow", lambda: real_utcnow() + offset[0])
    monkeypatch.setattr(twilio_erasure, "utcnow", lambda: real_utcnow() + offset[0])

    def advance(minutes):
        offset[0] += dt.timedelta(minutes=minutes)
    return advance


@pytest.fixture
def sealed_under_a(tmp_path, monkeypatch, twilio):
    """Under secret A: a texter with a reply waiting, and an erased conversation whose texts are
    still to delete at Twilio."""
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", SECRET_A)
    monkeypatch.delenv("NAVIGATOR_SECRET_KEY_PREVIOUS", raising=False)
    monkeypatch.setenv("TWILIO_ERASE_DELAY_S", "0")
    url = f"sqlite:///{tmp_path / 'navigator.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    engine = db.make_engine(url)
    schema.create_schema(engine)
    conversation = sms_store.texter_for_phone(TEXTER, engine).conversation_id
    now = sms_store.utcnow()
    sms_outbox.queue_replies(conversation, [WAITING], now, engine, expires_at=now + dt.timedelta(hours=4),
                            from_advocate=True)
    erased = sms_store.texter_for_phone(ERASED_TEXTER, engine).conversation_id
    twilio_erasure.remember(erased, "SMkeyring-text-1", engine)
    twilio_erasure.remember(erased, "SMkeyring-text-2", engine)
    erase_conversation(erased, directory_engine=engine, tracker_engine=db.make_engine(
        f"sqlite:///{tmp_path / 'tracker.db'}"))
    with twilio.lock:
        twilio.failures.clear()
        twilio.busy_deletes = 0
    settings = TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, twilio.url)
    return url, conversation, settings


def restart(monkeypatch, url, previous=None):
    """A new process with secret B (and `previous` as NAVIGATOR_SECRET_KEY_PREVIOUS)."""
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", SECRET_B)
    if previous:
        monkeypatch.setenv("NAVIGATOR_SECRET_KEY_PREVIOUS", previous)
    else:
        monkeypatch.delenv("NAVIGATOR_SECRET_KEY_PREVIOUS", raising=False)
    return db.make_engine(url)


def rows(engine, table):
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar()


def test_with_the_old_secret_as_previous_the_texter_the_outbox_and_the_eraser_all_work(
        sealed_under_a, monkeypatch, twilio):
    url, conversation, settings = sealed_under_a
    engine = restart(monkeypatch, url, previous=f"some-older-secret-{'x' * 32}, {SECRET_A}")

    assert sms_store.texter_for_phone(TEXTER, engine).conversation_id == conversation  # their own conversation
    with engine.connect() as connection:  # and their row is now found under B
        stored = connection.exec_driver_sql("SELECT phone_hash FROM sms_contact WHERE conversation_id = ?",
                                            (conversation,)).scalar()
    assert stored == secret_key.keyed_hash(sms_store.PHONE_HASH_KEY, TEXTER)

    assert asyncio.run(SmsOutbox(engine, settings).send_due()) == 1
    assert [sms.body for sms in twilio.to(TEXTER)] == [WAITING]
    assert asyncio.run(TwilioEraser(engine, settings).erase_due()) == 2
    assert {"SMkeyring-text-1", "SMkeyring-text-2"} <= set(twilio.deleted)
    with engine.connect() as connection:  # nothing left to delete (the reply just sent is noted with its conversation)
        assert connection.exec_driver_sql(
            "SELECT COUNT(*) FROM sms_twilio_message WHERE conversation_id IS NULL").scalar() == 0


def test_navigator_rekey_reseals_everything_so_the_old_secret_can_be_dropped(sealed_under_a, monkeypatch, capsys,
                                                                              twilio):
    url, conversation, settings = sealed_under_a
    restart(monkeypatch, url, previous=SECRET_A)
    assert main(["rekey", "--check"]) == 0
    assert "still under a previous secret: 4" in capsys.readouterr().out  # the texter, the reply, the 2 SIDs
    assert main(["rekey"]) == 0
    out = capsys.readouterr().out
    assert "no secret opens (kept): 0" in out and "may be dropped" in out

    engine = restart(monkeypatch, url)  # B alone now
    assert sms_store.texter_for_phone(TEXTER, engine).conversation_id == conversation
    assert asyncio.run(SmsOutbox(engine, settings).send_due()) == 1
    assert asyncio.run(TwilioEraser(engine, settings).erase_due()) == 2
    assert "SMkeyring-text-1" in twilio.deleted


def test_with_the_new_secret_alone_nothing_is_dropped_an_error_is_logged_and_the_purge_says_so(
        sealed_under_a, monkeypatch, twilio, clock, caplog):
    url, conversation, settings = sealed_under_a
    engine = restart(monkeypatch, url)
    caplog.set_level(logging.ERROR)

    assert asyncio.run(SmsOutbox(engine, settings).send_due()) == 0
    assert asyncio.run(TwilioEraser(engine, settings).erase_due()) == 0
    assert sms_outbox.has_queued(conversation, engine)  # kept
    assert rows(engine, "sms_twilio_message") == 2 and rows(engine, "sms_contact") == 1
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("1 SMS replies waiting" in message for message in errors)
    assert any("2 messages to delete at Twilio cannot be" in message for message in errors)
    assert not [message for message in errors if TEXTER in message or WAITING in message or "SMkeyring" in message]

    report = purge(30, directory_engine=engine)
    assert "sms_twilio_message: 2 sealed rows that no secret opens, kept (NAVIGATOR_SECRET_KEY_PREVIOUS, " \
           "`navigator rekey`)" in report.lines()
    assert rows(engine, "sms_twilio_message") == 2

    engine = restart(monkeypatch, url, previous=SECRET_A)  # the operator brings A back
    clock(61)  # past the set-aside pauses (5 minutes for the outbox, an hour for the eraser)
    assert asyncio.run(SmsOutbox(engine, settings).send_due()) == 1
    assert asyncio.run(TwilioEraser(engine, settings).erase_due()) == 2
    assert [sms.body for sms in twilio.to(TEXTER)][-1] == WAITING


def test_previous_secrets_must_be_secrets_too(monkeypatch):
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY", SECRET_B)
    monkeypatch.setenv("NAVIGATOR_SECRET_KEY_PREVIOUS", f"{SECRET_A} short")
    with pytest.raises(secret_key.SecretKeyError, match="secret 2 has fewer than 32"):
        secret_key.previous_secrets()
