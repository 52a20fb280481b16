"""CONTRACT's REST channel (POST /webhooks/rest/webhook), Rasa's own with three things made safe.

- Text that starts with "/" reaches NLU as plain words, so "/restart" cannot un-pause a
  conversation an advocate holds, nor can any message pick an intent or fill a slot.
- The channel is always "rest": a caller cannot claim to be another channel (say "twilio"), which
  would make an advocate's reply go out as an SMS to whatever the sender id says.
- A body that is not `{"sender": ..., "message": TEXT}` gets a 400 that says so; a failed turn is
  logged without the message text (Rasa's channel logs the text with the error).
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.incoming import plain_text

logger = logging.getLogger(__name__)

BAD_BODY = 'expected a JSON object {"sender": ID, "message": TEXT}'


class SafeRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def _extract_message(self, req: Request) -> Optional[Text]:
        return plain_text(req.json.get("message"))

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def handle_quietly(message: UserMessage) -> None:
            try:
                await on_new_message(message)
            except Exception as error:  # the messages said so far are still answered
                logger.error("a REST turn failed: %s", type(error).__name__)
                logger.debug("a REST turn failed", exc_info=True)

        rest = super().blueprint(handle_quietly)

        @rest.middleware("request")
        async def refuse_bad_bodies(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            try:
                body = request.json
            except Exception:  # Sanic raises on invalid JSON
                body = None
            if not (isinstance(body, dict) and isinstance(body.get("message"), str)
                    and isinstance(body.get("sender", ""), (str, int))):
                return response.json({"error": BAD_BODY}, status=400)
            return None

        return rest
