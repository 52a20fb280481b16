"""An erased or purged SMS conversation is deleted at Twilio too (Twilio's message log keeps each
text and number): the texter's texts and the line's replies, asked again while Twilio is not
done with a message (error 20009), and never a message of a conversation that stays."""
import asyncio
import datetime as dt

import pytest

from bot.channels.sms import erasure as twilio_erasure
from bot.channels.sms import store as sms_store
from bot.channels.sms.erasure import TwilioEraser
from bot.channels.sms.outbox import SmsOutbox
from conversations.retention import erase_conversation, purge
from infra import db
from infra.twilio_client import TwilioSettings
from navigator import schema
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER


@pytest.fixture
def engines(tmp_path, monkeypatch):
    monkeypatch.setenv("TWILIO_ERASE_DELAY_S", "0")
    directory = db.make_engine(f"sqlite:///{tmp_path / 'navigator.db'}")
    schema.create_schema(directory)
    return directory, db.make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")


@pytest.fixture
def settings(twilio):
    with twilio.lock:
        twilio.failures.clear()
        twilio.busy_deletes = 0
    return TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, twilio.url)


@pytest.fixture
def clock(monkeypatch):
    """The eraser's clock, moved on by `advance(seconds)` instead of waiting."""
    real_utcnow = sms_store.utcnow
    offset = [dt.timedelta(0)]
    monkeypatch.setattr(twilio_erasure, "utcnow", lambda: real_utcnow() + offset[0])

    def advance(seconds):
        offset[0] += dt.timedelta(seconds=seconds)
    return advance


def conversation_with_texts(engine, settings, phone, texts):
    """A texter who sent `texts` (their SIDs) and got one reply through the outbox."""
    conversation = sms_store.texter_for_phone(phone, engine).conversation_id
    for sid in texts:
        twilio_erasure.remember(conversation, sid, engine)
    assert asyncio.run(SmsOutbox(engine, settings).send(conversation, phone, ["Here is help."]))
    return conversation


def test_an_erased_conversation_is_deleted_at_twilio_after_twilio_is_done_with_it(engines, settings, twilio, clock):
    directory, tracker = engines
    erased = conversation_with_texts(directory, settings, "+15550170901", ["SMin1", "SMin2"])
    kept = conversation_with_texts(directory, settings, "+15550170902", ["SMin3"])
    reply_sids = [sms.sid for sms in twilio.to("+15550170901")]
    kept_reply = twilio.to("+15550170902")[-1].sid

    report = erase_conversation(erased, directory_engine=directory, tracker_engine=tracker)
    assert report.records["sms_twilio_message"] == 3
    eraser = TwilioEraser(directory, settings)
    with twilio.lock:
        twilio.busy_deletes = 1  # Twilio: "Cannot delete this resource before it is complete"
    assert asyncio.run(eraser.erase_due()) == 2
    assert asyncio.run(eraser.erase_due()) == 0  # the refused one waits a minute
    clock(61)
    assert asyncio.run(eraser.erase_due()) == 1
    assert sorted(twilio.deleted[-3:]) == sorted(["SMin1", "SMin2", *reply_sids])
    assert not {"SMin3", kept_reply} & set(twilio.deleted)
    with directory.connect() as connection:  # nothing left to do, and the other texter's still noted
        rows = connection.exec_driver_sql("SELECT conversation_id FROM sms_twilio_message").scalars().all()
    assert rows == [kept, kept]


def test_a_purge_hands_over_the_messages_older_than_its_cut_off(engines, settings, twilio):
    directory, tracker = engines
    old = conversation_with_texts(directory, settings, "+15550170903", ["SMold"])
    with directory.begin() as connection:
        connection.exec_driver_sql("UPDATE sms_twilio_message SET created_at = ? WHERE conversation_id = ?",
                                   (dt.datetime.utcnow() - dt.timedelta(days=40), old))
    conversation_with_texts(directory, settings, "+15550170904", ["SMnew"])

    report = purge(30, directory_engine=directory, tracker_engine=tracker)
    assert report.records["sms_twilio_message"] == 2  # the old text and its reply
    assert "messages to delete at Twilio: 2" in report.lines()
    asyncio.run(TwilioEraser(directory, settings).erase_due())
    assert "SMold" in twilio.deleted and "SMnew" not in twilio.deleted


def test_while_twilio_cannot_be_reached_nothing_is_forgotten(engines, clock):
    directory, tracker = engines
    conversation = sms_store.texter_for_phone("+15550170905", directory).conversation_id
    twilio_erasure.remember(conversation, "SMaway", directory)
    erase_conversation(conversation, directory_engine=directory, tracker_engine=tracker)
    nowhere = TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, "http://127.0.0.1:9")
    assert asyncio.run(TwilioEraser(directory, nowhere).erase_due()) == 0
    clock(61)
    assert asyncio.run(TwilioEraser(directory, nowhere).erase_due()) == 0
    with directory.connect() as connection:
        attempts = connection.exec_driver_sql("SELECT attempts FROM sms_twilio_message").scalars().all()
    assert attempts == [2]  # still on the list, tried twice
