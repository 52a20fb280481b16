"""The few calls the console makes to Rasa's HTTP API (run with --enable-api, navigator/rasa_server.py).

Rasa owns the conversation: pausing it, putting an advocate's words into it and sending them out
on the survivor's channel (`output_channel=latest`), resuming it, and its transcript. The console
keeps no copy of what anyone said.

Each call carries, in its `Authorization` header, a JWT signed (HS256) with RASA_API_TOKEN that
expires a minute later; Rasa checks it itself (`requires_auth`, with the token as its JWT secret).
So the token never travels: not in a URL, which access logs and proxies keep, nor even in a
header; a header that leaked would open Rasa's API for a minute (plus Rasa's 3 minutes of clock
leeway), not for good.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Optional
from urllib.parse import quote

import aiohttp
import jwt

logger = logging.getLogger(__name__)

TIMEOUT_S = 10
LISTEN = {"event": "action", "name": "action_listen"}
# Rasa's routes do not percent-decode the conversation id, so every character a URL path may
# carry as it is (a Twilio sender's "+", a hash's ":") is sent as it is.
PATH_SAFE = "/!$&'()*+,;=:@~"
CALL_LIFETIME_S = 60
# Rasa's requires_auth lets a JWT's user act on any conversation only with the role "admin".
JWT_USER = {"username": "navigator-console", "role": "admin"}


class RasaUnavailable(RuntimeError):
    """Rasa did not answer, or refused: the step did not happen and can be tried again."""


class RasaApi:
    def __init__(self, base_url: str, token: str):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http: Optional[aiohttp.ClientSession] = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def call_token(self) -> str:
        """A JWT for one call: Rasa's admin role, expiring CALL_LIFETIME_S from now."""
        now = int(time.time())
        return jwt.encode({"user": JWT_USER, "iat": now, "exp": now + CALL_LIFETIME_S}, self.token,
                          algorithm="HS256")

    async def _call(self, method: str, conversation_id: str, path: str, body: Any = None,
                    **query: str) -> Any:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        url = f"{self.base_url}/conversations/{quote(conversation_id, safe=PATH_SAFE)}/{path}"
        try:
            async with self._http.request(method, url, params=query, json=body,
                                          headers={"Authorization": f"Bearer {self.call_token()}"}) as response:
                if response.status >= 300:
                    # The path names the conversation; log only the step and the status.
                    logger.warning("Rasa API %s .../%s answered %s", method, path, response.status)
                    raise RasaUnavailable(f"the assistant answered {response.status}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.warning("Rasa API %s .../%s failed: %s", method, path, type(error).__name__)
            raise RasaUnavailable("the assistant did not answer") from None

    async def pause(self, conversation_id: str) -> None:
        """Stop the bot answering; Rasa still records what the survivor sends."""
        await self._call("POST", conversation_id, "tracker/events", {"event": "pause"})

    async def resume(self, conversation_id: str) -> None:
        """Let the bot answer again, no longer waiting on a yes or no about an advocate."""
        await self._call("POST", conversation_id, "tracker/events",
                         [{"event": "resume"}, {"event": "slot", "name": "awaiting", "value": None}])

    async def say_as_advocate(self, conversation_id: str, text: str, advocate: str) -> None:
        """Put the advocate's words in the conversation and send them on the survivor's channel."""
        await self._call("POST", conversation_id, "tracker/events",
                         {"event": "bot", "text": text, "metadata": {"advocate": advocate}},
                         output_channel="latest", execute_side_effects="true")

    async def utter(self, conversation_id: str, response: str, **slots: Optional[str]) -> None:
        """Send one of domain.yml's responses on the survivor's channel, then listen again, so
        the survivor's next message is read as a fresh turn (rules follow `action_listen`).
        `slots` are set first: Rasa fills a response's {placeholders} from the conversation's slots."""
        if slots:
            await self._call("POST", conversation_id, "tracker/events",
                             [{"event": "slot", "name": name, "value": value} for name, value in slots.items()])
        await self._call("POST", conversation_id, "execute", {"name": response}, output_channel="latest")
        await self._call("POST", conversation_id, "tracker/events", LISTEN)

    async def tracker(self, conversation_id: str) -> dict:
        """Every event of the conversation (also those before a restart)."""
        return await self._call("GET", conversation_id, "tracker", include_events="ALL")
