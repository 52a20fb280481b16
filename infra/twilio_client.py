"""Sending an SMS through Twilio's REST API (the Messages resource): the bot's replies and the
advocates' alerts both go out through `send_sms`; `delete_message` erases one at Twilio.

On the twilio SDK's asynchronous client (`create_async`, `delete_async` over aiohttp), so a slow
Twilio never stalls the conversations sharing the Rasa server's event loop. 429 and 5xx answers
and dropped connections are retried here with exponential backoff (honouring Retry-After), not by
the SDK: any other refusal is final at once, and what still fails after the last attempt is the
caller's to keep (bot.channels.sms.outbox). `TWILIO_API_URL` points every call at another base
URL (a local stand-in in tests); TWILIO_REGION and TWILIO_EDGE, which the SDK would read from the
environment and apply to that URL, are ignored as they always were.

Each event loop keeps one HTTP session (its connections to Twilio stay open between messages)
and closes it when the loop shuts down its asynchronous generators (asyncio.run does); a server
whose loop never does can `await aclose()` on the way down.

Neither the phone number nor the text is ever logged, nor put in an exception. The SDK's own
request logging (URL, headers, response headers, at INFO) is replaced by one DEBUG line with the
method and status; Twilio's error messages quote the number, so of its TwilioRestException only
the status and error code are kept, and it is never chained to ours. The SDK client's record of
the last request and answer (its `_test_only_last_*` attributes: the number and the text) is
cleared after every call, so the long-lived session holds no message.
"""
from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import random
import threading
from dataclasses import dataclass
from typing import AsyncIterator, Dict, Optional, Text, Tuple
from urllib.parse import quote

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from infra.sms_charset import SMS_MAX_CHARS, sms_length

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.twilio.com"
ATTEMPTS = 5
FIRST_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 20.0
REQUEST_TIMEOUT_S = 15.0
UNSUBSCRIBED_RECIPIENT = 21610  # Twilio's error code: the person texted STOP


class TwilioNotConfigured(RuntimeError):
    """A Twilio variable is missing from the environment (its name is in the message)."""


class TwilioSendError(RuntimeError):
    """Twilio did not accept the message. `status` is the HTTP status (0: no answer), `code`
    Twilio's error code when it gave one (21610: the recipient has opted out)."""

    def __init__(self, status: int, code: Optional[int] = None):
        self.status, self.code = status, code
        super().__init__(f"Twilio refused the message: HTTP {status}" + (f", error {code}" if code else ""))

    @property
    def retryable(self) -> bool:
        """No answer, a timeout, 429 or 5xx: Twilio may take the message later. Any other refusal is final."""
        return self.status == 0 or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class TwilioSettings:
    """The account that sends: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_NUMBER, TWILIO_API_URL."""

    account_sid: Text
    auth_token: Text
    number: Text
    api_url: Text = DEFAULT_API_URL

    @classmethod
    def from_environment(cls) -> "TwilioSettings":
        names = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_NUMBER")
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            raise TwilioNotConfigured(f"set {', '.join(missing)} to send SMS through Twilio")
        return cls(os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"], os.environ["TWILIO_NUMBER"],
                   (os.environ.get("TWILIO_API_URL") or DEFAULT_API_URL).rstrip("/"))


def retry_delay(attempt: int, retry_after: Optional[Text] = None) -> float:
    """Seconds to wait before attempt `attempt + 1`: Twilio's Retry-After if it gave one, else
    exponential backoff with jitter (0.5 s, 1 s, 2 s, ...), never more than MAX_RETRY_DELAY_S."""
    try:
        if retry_after is not None:
            return min(max(float(retry_after), 0.0), MAX_RETRY_DELAY_S)
    except ValueError:
        pass
    return min(FIRST_RETRY_DELAY_S * 2 ** (attempt - 1) * random.uniform(0.8, 1.2), MAX_RETRY_DELAY_S)


# The answer to this task's last Twilio call: a TwilioRestException has no headers (Retry-After)
# and fills in the HTTP status as the error code when Twilio gave none, so both are read here.
# A context variable, because concurrent sends (the alerts' gather) share one HTTP client.
_last_answer: contextvars.ContextVar[Optional[Response]] = contextvars.ContextVar("twilio_last_answer", default=None)


class _HttpClient(AsyncTwilioHttpClient):
    """The SDK's aiohttp client with the navigator's rules: REQUEST_TIMEOUT_S on every call (the
    SDK passes none, which aiohttp takes as no timeout at all), no request logging beyond the
    method and status, no copy of the last request or answer kept, and the answer noted for
    `_last_answer`."""

    def __init__(self) -> None:
        super().__init__(pool_connections=True, timeout=REQUEST_TIMEOUT_S, logger=logger)

    async def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                      allow_redirects=False) -> Response:
        _last_answer.set(None)
        try:
            answer = await super().request(method, url, params=params, data=data, headers=headers, auth=auth,
                                           timeout=timeout or REQUEST_TIMEOUT_S, allow_redirects=allow_redirects)
        finally:
            self._test_only_last_request = self._test_only_last_response = None
        _last_answer.set(answer)
        return answer

    def log_request(self, kwargs) -> None:
        """The SDK logs the URL (a message's SID when deleting) and headers at INFO: not here."""

    def log_response(self, status_code: int, response) -> None:
        logger.debug("Twilio answered HTTP %s", status_code)


class _LoopClients:
    """One event loop's HTTP client and the SDK clients (one per account) that share it."""

    def __init__(self) -> None:
        self.http = _HttpClient()
        self.accounts: Dict[Tuple[Text, Text, Text], Client] = {}
        self.closer: Optional[AsyncIterator[None]] = None

    def client(self, settings: TwilioSettings) -> Client:
        key = (settings.account_sid, settings.auth_token, settings.api_url)
        client = self.accounts.get(key)
        if client is None:
            try:
                client = Client(settings.account_sid, settings.auth_token, http_client=self.http)
            except TwilioException:
                raise TwilioNotConfigured("the Twilio settings lack an account SID or auth token") from None
            client.edge = client.region = None  # read from TWILIO_EDGE/TWILIO_REGION: they would rewrite api_url
            client.api.base_url = settings.api_url
            self.accounts[key] = client
        return client


_clients: Dict[asyncio.AbstractEventLoop, _LoopClients] = {}
_clients_lock = threading.Lock()


async def _close_with_the_loop(loop: asyncio.AbstractEventLoop, clients: _LoopClients) -> AsyncIterator[None]:
    """Started once per loop and left suspended: the loop's shutdown_asyncgens (asyncio.run calls
    it before closing the loop) closes it, and with it the HTTP session, while the loop still runs."""
    try:
        yield
    finally:
        with _clients_lock:
            if _clients.get(loop) is clients:
                del _clients[loop]
        await clients.http.close()


async def _client(settings: TwilioSettings) -> Client:
    """The SDK client for this account on the running loop (made on first use)."""
    loop = asyncio.get_running_loop()
    with _clients_lock:
        for closed in [other for other in _clients if other.is_closed()]:
            del _clients[closed]  # a loop that closed without shutting down its generators
        clients = _clients.get(loop)
        if clients is None:
            clients = _clients[loop] = _LoopClients()
            new = True
        else:
            new = False
    if new:
        clients.closer = _close_with_the_loop(loop, clients)
        await clients.closer.__anext__()
    return clients.client(settings)


async def aclose() -> None:
    """Close the running loop's Twilio session now (a later call opens a new one)."""
    with _clients_lock:
        clients = _clients.pop(asyncio.get_running_loop(), None)
    if clients is not None:
        await (clients.closer.aclose() if clients.closer is not None else clients.http.close())


def _refusal(error: TwilioRestException) -> TwilioSendError:
    """Status and error code only: the SDK's message quotes Twilio's, which quotes the number."""
    answer = _last_answer.get()
    return TwilioSendError(error.status, _json_object(answer.text).get("code") if answer is not None else None)


def _json_object(text: Text) -> dict:
    try:
        value = json.loads(text or "null")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def send_sms(to: Text, body: Text, settings: Optional[TwilioSettings] = None,
                   attempts: int = ATTEMPTS) -> Text:
    """Send `body` (at most 1,600 characters) to the phone number `to`; answers Twilio's message
    SID. Raises TwilioSendError once Twilio refuses it or every attempt failed, ValueError for a
    body Twilio would refuse, TwilioNotConfigured when the environment lacks a Twilio variable."""
    if not body.strip() or sms_length(body) > SMS_MAX_CHARS:
        raise ValueError(f"an SMS body must have 1 to {SMS_MAX_CHARS} characters, not {sms_length(body)}")
    settings = settings or TwilioSettings.from_environment()
    client = await _client(settings)
    for attempt in range(1, attempts + 1):
        retry_after = None
        try:
            message = await client.messages.create_async(to=to, from_=settings.number, body=body)
            return str(message.sid or "")
        except json.JSONDecodeError:  # Twilio took it (2xx) but its answer is not JSON
            return ""
        except TwilioRestException as refused:
            error = _refusal(refused)
            answer = _last_answer.get()
            retry_after = answer.headers.get("Retry-After") if answer is not None and answer.headers else None
        except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
            error = TwilioSendError(0)
            logger.debug("Twilio call failed: %s", type(failure).__name__)
        # Raised here, outside the except clauses, so that no Twilio exception is chained to ours.
        if not error.retryable:
            raise error
        if attempt < attempts:
            delay = retry_delay(attempt, retry_after)
            logger.warning("Twilio answered %s; retrying in %.1f s (attempt %d of %d)",
                           error.status or "nothing", delay, attempt + 1, attempts)
            await asyncio.sleep(delay)
    raise error


async def delete_message(message_sid: Text, settings: Optional[TwilioSettings] = None) -> bool:
    """Ask Twilio to delete one message (its body, numbers and media) for good. True when it is
    gone (deleted now, or already: 404); False when Twilio cannot now (20009: not finished with
    it yet, 429, 5xx, no answer, or a refusal): the caller asks again later (bot.channels.sms.erasure)."""
    settings = settings or TwilioSettings.from_environment()
    client = await _client(settings)
    try:
        await client.messages(quote(message_sid, safe="")).delete_async()
        status, code = _last_answer.get().status_code, None
    except TwilioRestException as refused:
        error = _refusal(refused)
        status, code = error.status, error.code
    except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
        logger.debug("Twilio delete call failed: %s", type(failure).__name__)
        return False
    if status in (200, 204, 404):
        return True
    logger.debug("Twilio did not delete a message: HTTP %s, error %s", status, code)
    return False
