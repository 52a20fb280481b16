"""Sending an SMS through Twilio's REST API (the Messages resource): the bot's replies and the
advocates' alerts both go out through `send_sms`; `delete_message` erases one at Twilio.

aiohttp, not the twilio client: the client blocks, and a slow Twilio would stall every
conversation on the Rasa server's event loop. 429 and 5xx answers and dropped connections are
retried with exponential backoff (honouring Retry-After); any other refusal is final at once.
What still fails after the last attempt is the caller's to keep (bot.channels.sms.outbox).
`TWILIO_API_URL` points every call at another base URL (a local stand-in in tests). Neither the
phone number nor the text is ever logged, nor put in an exception: Twilio's error messages
quote the number, so only its status and error code are kept.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from dataclasses import dataclass
from typing import Optional, Text
from urllib.parse import quote

import aiohttp

from infra.sms_text import SMS_MAX_CHARS, sms_length

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

    @property
    def messages_url(self) -> Text:
        return f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def message_url(self, message_sid: Text) -> Text:
        return f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages/{quote(message_sid, safe='')}.json"


def retry_delay(attempt: int, retry_after: Optional[Text] = None) -> float:
    """Seconds to wait before attempt `attempt + 1`: Twilio's Retry-After if it gave one, else
    exponential backoff with jitter (0.5 s, 1 s, 2 s, ...), never more than MAX_RETRY_DELAY_S."""
    try:
        if retry_after is not None:
            return min(max(float(retry_after), 0.0), MAX_RETRY_DELAY_S)
    except ValueError:
        pass
    return min(FIRST_RETRY_DELAY_S * 2 ** (attempt - 1) * random.uniform(0.8, 1.2), MAX_RETRY_DELAY_S)


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
    form = {"To": to, "From": settings.number, "Body": body}
    auth = aiohttp.BasicAuth(settings.account_sid, settings.auth_token)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for attempt in range(1, attempts + 1):
            retry_after = None
            try:
                async with http.post(settings.messages_url, data=form, auth=auth) as response:
                    answer = _json_object(await response.text())
                    if response.status < 300:
                        return str(answer.get("sid") or "")
                    error = TwilioSendError(response.status, answer.get("code"))
                    if not error.retryable:
                        raise error
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
                error = TwilioSendError(0)
                logger.debug("Twilio call failed: %s", type(failure).__name__)
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
    auth = aiohttp.BasicAuth(settings.account_sid, settings.auth_token)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as http:
            async with http.delete(settings.message_url(message_sid), auth=auth) as response:
                if response.status in (200, 204, 404):
                    return True
                code = _json_object(await response.text()).get("code")
                logger.debug("Twilio did not delete a message: HTTP %s, error %s", response.status, code)
                return False
    except (aiohttp.ClientError, asyncio.TimeoutError) as failure:
        logger.debug("Twilio delete call failed: %s", type(failure).__name__)
        return False
