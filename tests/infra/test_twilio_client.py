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


# --- on the twilio SDK's async client: no number or text in any log, one session per loop ----------

SECRET_PHONE = "+15550103099"
SECRET_BODY = "He took my passport and I am at the bus station on Fifth"


def _every_logger_at_debug():
    """The root logger and every logger that exists (the SDK's included) at DEBUG, enabled and
    propagating, so that whatever any of them would say reaches the capture."""
    import logging

    names = [""] + list(logging.root.manager.loggerDict) + ["twilio", "twilio.async_http_client",
                                                               "twilio.http_client", "aiohttp", "asyncio"]
    saved = []
    for name in names:
        log = logging.getLogger(name)
        saved.append((log, log.level, log.disabled, log.propagate))
        log.setLevel(logging.DEBUG)
        log.disabled = False
        if name:
            log.propagate = True
    return saved


def test_attack_no_number_or_text_reaches_any_log_even_at_debug(twilio, settings):
    """An attacker who reads the logs (or an operator who turned DEBUG on) learns neither who
    was texted nor what: not from the SDK's request logging (URL, headers), not from a refusal,
    not from a retry, not from a deletion, not from the SDK client's record of its last call."""
    import logging
    import traceback

    from infra import twilio_client

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    saved = _every_logger_at_debug()
    logging.root.addHandler(keep)
    try:
        async def scenario():
            sid = await send_sms(SECRET_PHONE, SECRET_BODY, settings)
            twilio.fail_next(429, 500)
            await send_sms(SECRET_PHONE, SECRET_BODY, settings)
            twilio.unsubscribed.add(SECRET_PHONE)
            try:
                await send_sms(SECRET_PHONE, SECRET_BODY, settings)
            except TwilioSendError as error:
                refused = error
            assert await twilio_client.delete_message(sid, settings)
            http = twilio_client._clients[asyncio.get_running_loop()].http
            return sid, refused, http

        twilio_client.FIRST_RETRY_DELAY_S, first_delay = 0.01, twilio_client.FIRST_RETRY_DELAY_S
        try:
            sid, refused, http = asyncio.run(scenario())
        finally:
            twilio_client.FIRST_RETRY_DELAY_S = first_delay
            twilio.unsubscribed.discard(SECRET_PHONE)
    finally:
        logging.root.removeHandler(keep)
        for log, level, disabled, propagate in saved:
            log.setLevel(level)
            log.disabled, log.propagate = disabled, propagate

    assert [s.body for s in twilio.to(SECRET_PHONE)] == [SECRET_BODY, SECRET_BODY]  # it did go out, twice
    secrets = (SECRET_PHONE, SECRET_PHONE.lstrip("+"), "5550103099", SECRET_BODY, "passport")
    logged = [f"{r.levelname} {r.name} {r.getMessage()} {r.exc_text or ''}" for r in records]
    for line in logged:
        assert not any(secret in line for secret in secrets), line
    # Nor the message's SID (sealed in the database as the number is) at INFO or above: the SDK
    # would log the DELETE URL that holds it.
    assert not [r for r in records if r.levelno >= logging.INFO and sid in r.getMessage()]
    twilio_lines = [line for line in logged if "twilio" in line.lower()]
    assert any(line.startswith("DEBUG infra.twilio_client Twilio answered HTTP 201") for line in twilio_lines)
    assert any(line.startswith("WARNING infra.twilio_client Twilio answered 429") for line in twilio_lines)
    assert not [r for r in records if r.name.startswith("twilio")]  # the SDK's own loggers say nothing
    # The refusal carries the status and Twilio's code, and nothing chained to it quotes the number.
    assert (refused.status, refused.code) == (400, 21610)
    assert refused.__context__ is None and refused.__cause__ is None
    told = "".join(traceback.format_exception(type(refused), refused, refused.__traceback__))
    assert not any(secret in told for secret in secrets)
    # The SDK client keeps a copy of its last request and answer (number and text): cleared.
    assert http._test_only_last_request is None and http._test_only_last_response is None


def test_one_session_per_event_loop_reused_and_closed_with_the_loop(twilio, settings):
    from infra import twilio_client

    async def two_sends():
        await send_sms(PHONE, "first on this loop", settings)
        first = twilio_client._clients[asyncio.get_running_loop()].http.session
        await send_sms(PHONE, "second on this loop", settings)
        assert twilio_client._clients[asyncio.get_running_loop()].http.session is first
        assert not first.closed
        return first

    session = asyncio.run(two_sends())
    assert session.closed  # asyncio.run shut the loop's generators down, and the session with them
    assert not any(loop.is_closed() for loop in twilio_client._clients)
    assert asyncio.run(two_sends()) is not session  # a new loop has its own


def test_aclose_closes_the_running_loops_session(twilio, settings):
    from infra import twilio_client

    async def send_close_send():
        await send_sms(PHONE, "before aclose", settings)
        first = twilio_client._clients[asyncio.get_running_loop()].http.session
        await twilio_client.aclose()
        assert first.closed and asyncio.get_running_loop() not in twilio_client._clients
        await send_sms(PHONE, "after aclose", settings)
        return twilio_client._clients[asyncio.get_running_loop()].http.session is not first

    assert asyncio.run(send_close_send())


def test_a_twilio_that_never_answers_times_out_as_no_answer(settings, monkeypatch):
    import socket

    monkeypatch.setattr("infra.twilio_client.REQUEST_TIMEOUT_S", 0.3)
    silent = socket.create_server(("127.0.0.1", 0))  # accepts the connection, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(TwilioSendError) as refused:
            asyncio.run(send_sms(PHONE, "hello", TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, url),
                                 attempts=1))
        assert refused.value.status == 0 and refused.value.retryable
        assert time.monotonic() - started < 5
    finally:
        silent.close()


def test_twilio_region_and_edge_do_not_rewrite_the_api_url(twilio, settings, monkeypatch):
    """The SDK reads TWILIO_REGION and TWILIO_EDGE and would rewrite the host (127.0.0.1 into
    nonsense); the navigator never honoured them and TWILIO_API_URL says where to send."""
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    assert asyncio.run(send_sms(PHONE, "region ignored", settings)).startswith("SM")
