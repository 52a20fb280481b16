"""Replies during a Twilio outage, against the local stand-in: kept (encrypted) when Twilio
answers 503 or nothing, sent in order once it answers 201 again, across a restart too; refusals
that retrying cannot fix are not retried."""
import asyncio
import dataclasses
import datetime as dt

import pytest

from bot.channels.sms import outbox as sms_outbox
from bot.channels.sms import store as sms_store
from bot.channels.sms.outbox import SmsOutbox
from infra import db
from infra.twilio_client import TwilioSettings
from navigator import schema
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER
from tests.helpers import free_port

DOWN = (503,) * 5  # every quick attempt of send_sms fails


@pytest.fixture
def database(tmp_path, monkeypatch):
    monkeypatch.setattr("infra.twilio_client.FIRST_RETRY_DELAY_S", 0.01)
    path = tmp_path / "navigator.db"
    schema.create_schema(db.make_engine(f"sqlite:///{path}"))
    return path


@pytest.fixture
def engine(database):
    return db.make_engine(f"sqlite:///{database}")


@pytest.fixture
def settings(twilio):
    with twilio.lock:
        twilio.failures.clear()
    return TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, twilio.url)


@pytest.fixture
def clock(monkeypatch):
    """The outbox's clock, moved on by `advance(seconds)` instead of waiting."""
    real_utcnow = sms_store.utcnow

    class Clock:
        offset = dt.timedelta(0)

        def advance(self, seconds):
            self.offset += dt.timedelta(seconds=seconds)

    clock = Clock()
    monkeypatch.setattr(sms_outbox, "utcnow", lambda: real_utcnow() + clock.offset)
    return clock


def texter(engine, phone):
    return sms_store.texter_for_phone(phone, engine).conversation_id


def bodies(twilio, phone):
    return [sms.body for sms in twilio.to(phone)]


def attempts_so_far(engine):
    with engine.connect() as connection:
        return [row[0] for row in connection.exec_driver_sql("SELECT attempts FROM sms_outbox ORDER BY id")]


def test_a_reply_twilio_cannot_take_waits_encrypted_and_goes_out_when_twilio_is_back(twilio, settings, database,
                                                                                      engine, clock):
    phone = "+15550106001"
    conversation = texter(engine, phone)
    outbox = SmsOutbox(engine, settings)
    twilio.fail_next(*DOWN)
    assert asyncio.run(outbox.send(conversation, phone, ["zebra-kept one", "zebra-kept two"])) is False
    assert bodies(twilio, phone) == []
    wal = database.with_name("navigator.db-wal")
    stored = database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert b"zebra-kept" not in stored and b"5550106001" not in stored

    assert asyncio.run(outbox.send_due()) == 0  # not yet: the first retry is 15 s later
    clock.advance(16)
    assert asyncio.run(outbox.send_due()) == 2  # Twilio answers 201 now: both go, in order
    assert bodies(twilio, phone) == ["zebra-kept one", "zebra-kept two"]
    assert not sms_outbox.has_queued(conversation, engine)


def test_later_replies_wait_behind_and_a_restart_loses_none(twilio, settings, database, engine, clock):
    phone = "+15550106002"
    conversation = texter(engine, phone)
    twilio.fail_next(*DOWN)
    asyncio.run(SmsOutbox(engine, settings).send(conversation, phone, ["first"]))
    assert asyncio.run(SmsOutbox(engine, settings).send(conversation, phone, ["second"])) is False  # Twilio is up,
    assert bodies(twilio, phone) == []  # but "first" still waits: nothing overtakes it

    restarted = SmsOutbox(db.make_engine(f"sqlite:///{database}"), settings)  # a new process
    clock.advance(16)
    twilio.fail_next(503)
    assert asyncio.run(restarted.send_due()) == 0  # still down: tried once, then backs off
    assert attempts_so_far(engine) == [1, 0]
    clock.advance(16)
    assert asyncio.run(restarted.send_due()) == 0  # the second retry waits 30 s
    clock.advance(16)
    assert asyncio.run(restarted.send_due()) == 2
    assert bodies(twilio, phone) == ["first", "second"]


def test_the_background_sender_delivers_without_anyone_texting_again(twilio, settings, engine, monkeypatch):
    monkeypatch.setattr(sms_outbox, "FIRST_RETRY_S", 0.3)
    phone = "+15550106003"
    conversation = texter(engine, phone)
    outbox = SmsOutbox(engine, settings)

    async def outage_then_recovery():
        sender = asyncio.ensure_future(outbox.run())
        try:
            twilio.fail_next(*DOWN, 503)  # the quick attempts, then the first retry, fail
            await outbox.send(conversation, phone, ["after the outage"])
            for _ in range(60):  # until Twilio has it and the outbox has recorded it as sent
                if bodies(twilio, phone) and not sms_outbox.has_queued(conversation, engine):
                    break
                await asyncio.sleep(0.1)
        finally:
            sender.cancel()

    asyncio.run(outage_then_recovery())
    assert bodies(twilio, phone) == ["after the outage"]
    assert not sms_outbox.has_queued(conversation, engine)


def test_when_twilio_does_not_answer_at_all_the_reply_is_kept_too(settings, engine):
    phone = "+15550106007"
    conversation = texter(engine, phone)
    unreachable = dataclasses.replace(settings, api_url=f"http://127.0.0.1:{free_port()}")
    assert asyncio.run(SmsOutbox(engine, unreachable).send(conversation, phone, ["are you there"])) is False
    assert sms_outbox.has_queued(conversation, engine)


def test_a_refusal_retrying_cannot_fix_is_not_kept(twilio, settings, engine):
    phone = "+15550106004"
    conversation = texter(engine, phone)
    twilio.unsubscribed.add(phone)
    before = twilio.attempts
    assert asyncio.run(SmsOutbox(engine, settings).send(conversation, phone, ["hello"])) is False
    assert twilio.attempts - before == 1 and not sms_outbox.has_queued(conversation, engine)
    assert sms_store.texter_for_conversation(conversation, engine).opted_out is True  # 21610: Twilio holds a STOP


def test_a_kept_reply_is_dropped_when_the_texter_opts_out_or_it_waited_too_long(twilio, settings, engine, clock,
                                                                                monkeypatch):
    phone, other = "+15550106005", "+15550106006"
    stopped, stale = texter(engine, phone), texter(engine, other)
    outbox = SmsOutbox(engine, settings)
    twilio.fail_next(*DOWN, *DOWN)
    asyncio.run(outbox.send(stopped, phone, ["not after STOP"]))
    asyncio.run(outbox.send(stale, other, ["too late"]))
    sms_store.set_opted_out(stopped, True, engine)
    clock.advance(5 * 3600)
    twilio.fail_next(503)
    asyncio.run(outbox.send_due())
    assert not sms_outbox.has_queued(stopped, engine) and not sms_outbox.has_queued(stale, engine)
    assert bodies(twilio, phone) == [] and bodies(twilio, other) == []


def test_backoff_grows_to_two_minutes():
    assert [sms_outbox.retry_after_s(n) for n in (1, 2, 3, 4, 5, 9)] == [15, 30, 60, 120, 120, 120]


def test_a_bot_reply_goes_stale_in_minutes_an_advocates_waits_and_is_shown_if_it_never_goes(
        twilio, settings, engine, clock):
    """A stale text can arrive when someone else holds the phone: the bot's own words are not sent
    after BOT_REPLY_LIFETIME; an advocate chose theirs, so they wait longer, and the console shows
    the handoff's words that never went out."""
    from conversations.handoffs import Handoff, open_handoff

    bot_phone, advocate_phone = "+15550106008", "+15550106009"
    bot_texter, advocate_texter = texter(engine, bot_phone), texter(engine, advocate_phone)
    with db.session_scope(engine) as session:
        handoff_id = open_handoff(session, advocate_texter, "twilio", "request", "request").id
    outbox = SmsOutbox(engine, settings)
    twilio.fail_next(*DOWN, *DOWN)
    asyncio.run(outbox.send(bot_texter, bot_phone, ["Here are 3 shelters"]))
    asyncio.run(outbox.send(advocate_texter, advocate_phone, ["Hi, it's Maria"], from_advocate=True))

    clock.advance(sms_outbox.BOT_REPLY_LIFETIME.total_seconds() + 60)  # Twilio is back, 11 minutes on
    assert asyncio.run(outbox.send_due()) == 1
    assert bodies(twilio, bot_phone) == [] and bodies(twilio, advocate_phone) == ["Hi, it's Maria"]

    twilio.fail_next(*DOWN, *DOWN)
    asyncio.run(outbox.send(advocate_texter, advocate_phone, ["Are you still there?"], from_advocate=True))
    clock.advance(sms_outbox.ADVOCATE_REPLY_LIFETIME.total_seconds() + 60)
    assert asyncio.run(outbox.send_due()) == 0
    assert bodies(twilio, advocate_phone) == ["Hi, it's Maria"] and not sms_outbox.has_queued(advocate_texter, engine)
    with db.session_scope(engine) as session:
        assert session.get(Handoff, handoff_id).undelivered == 1
