"""Sending through Twilio's REST API, against the local stand-in: what reaches Twilio, retries of
429 and 5xx with backoff, and refusals that are final."""
import asyncio
import time

import pytest

from infra.twilio_client import TwilioNotConfigured, TwilioSendError, TwilioSettings, retry_delay, send_sms
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER

PHONE = "+15550103001"


@pytest.fixture
def settings(twilio):
    with twilio.lock:
        twilio.failures.clear()
    return TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, twilio.url)


def test_a_message_reaches_the_messages_resource_from_the_navigator_number(twilio, settings):
    sid = asyncio.run(send_sms(PHONE, "Call 911 if you are in danger.", settings))
    (sent,) = [s for s in twilio.to(PHONE) if s.body == "Call 911 if you are in danger."]
    assert sid.startswith("SM") and sent.sender == NAVIGATOR_NUMBER


def test_429_and_5xx_are_retried_until_twilio_takes_the_message(twilio, settings):
    before = twilio.attempts
    twilio.fail_next(429, 500, 503)
    started = time.monotonic()
    asyncio.run(send_sms(PHONE, "retried message", settings))
    assert twilio.attempts - before == 4
    assert [s.body for s in twilio.to(PHONE)].count("retried message") == 1
    assert time.monotonic() - started >= 1.0  # backed off (0 s Retry-After, then about 1 s and 2 s)


def test_a_refusal_that_retrying_cannot_fix_is_final_at_once(twilio, settings):
    twilio.unsubscribed.add("+15550103002")
    before = twilio.attempts
    with pytest.raises(TwilioSendError) as refused:
        asyncio.run(send_sms("+15550103002", "hello", settings))
    assert refused.value.code == 21610 and twilio.attempts - before == 1
    assert "+15550103002" not in str(refused.value)  # Twilio's message quotes the number; ours does not


def test_giving_up_after_the_last_attempt(twilio, settings, monkeypatch):
    monkeypatch.setattr("infra.twilio_client.FIRST_RETRY_DELAY_S", 0.01)
    twilio.fail_next(500, 500, 500)
    with pytest.raises(TwilioSendError) as refused:
        asyncio.run(send_sms(PHONE, "never sent", settings, attempts=3))
    assert refused.value.status == 500
    assert "never sent" not in [s.body for s in twilio.to(PHONE)]


def test_nothing_over_1600_characters_is_sent(settings):
    with pytest.raises(ValueError):
        asyncio.run(send_sms(PHONE, "x" * 1601, settings))


def test_a_missing_setting_is_named(monkeypatch):
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    with pytest.raises(TwilioNotConfigured, match="TWILIO_AUTH_TOKEN, TWILIO_NUMBER"):
        asyncio.run(send_sms(PHONE, "hello"))


def test_backoff_grows_and_honours_retry_after():
    assert retry_delay(1) < retry_delay(3) < retry_delay(5)
    assert retry_delay(1, "7") == 7.0 and retry_delay(1, "3600") == 20.0
