"""CONTRACT's REST channel (POST /webhooks/rest/webhook), Rasa's own with three things made safe.

- Text that starts with "/" reaches NLU as plain words, so "/restart" cannot un-pause a
  conversation an advocate holds, nor can any message pick an intent or fill a slot.
- The channel is always "rest": a caller cannot claim to be another channel (say "twilio"), which
  would make an advocate's reply go out as an SMS to whatever the sender id says.
- A body that is not `{"sender": ..., "message": TEXT}` gets a 400 that says so; a failed turn is
  logged without the message text (Rasa's channel logs the text with the error).
- A sender or an address over its rate limit (navigator.rate_limits) gets 429 with Retry-After
  and, in the usual list shape, the kind `utter_rate_limited` (try again in a minute; 911 and the
  24/7 lines), without running a turn.
- A message longer than incoming.MAX_TEXT_CHARS is answered from its first part, followed by
  `utter_message_too_long` (incoming.py).
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import server_policy
from bot.channels.fallback import always_answered
from bot.channels.incoming import LONG_MESSAGE_RESPONSE, is_too_long, plain_text, without_commands
from bot.channels.words import Words
from navigator.rate_limits import LIMITED_RESPONSE, Decision, client_address, survivor_limits

logger = logging.getLogger(__name__)

BAD_BODY = 'expected a JSON object {"sender": ID, "message": TEXT}'


class SafeRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def __init__(self) -> None:
        self.words = Words(self.name())
        self.limits = survivor_limits()

    def _extract_message(self, req: Request) -> Optional[Text]:
        return without_commands(req.json.get("message"))  # cut in the turn, which then says so

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        on_new_message = always_answered(on_new_message)  # the 24/7 lines when a turn fails (fallback.py)

        async def handle_quietly(message: UserMessage) -> None:
            too_long = is_too_long(message.text)
            message.text = plain_text(message.text)
            try:
                await on_new_message(message)
                if too_long:
                    await message.output_channel.send_response(
                        message.sender_id, await self.words.response(LONG_MESSAGE_RESPONSE))
            except Exception as error:  # the messages said so far are still answered
                logger.error("a REST turn failed: %s", type(error).__name__)
                logger.debug("a REST turn failed", exc_info=True)

        rest = super().blueprint(handle_quietly)
        server_policy.apply(rest)

        @rest.listener("before_server_start")
        async def attach(app: Any, _loop: Any) -> None:
            self.words.attach(app)

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
            decision = self.limits.check(sender=str(body.get("sender")), address=client_address(request))
            return None if decision.allowed else await self.slow_down(str(body.get("sender")), decision)

        return rest

    async def slow_down(self, sender: Text, decision: Decision) -> HTTPResponse:
        """429, and the kind words in the bot's usual shape (the default variation: a refusal
        must stay cheap, so it reads no conversation)."""
        try:
            messages = [{"recipient_id": sender, **await self.words.response(LIMITED_RESPONSE)}]
        except LookupError:  # the model is not loaded yet
            messages = []
        return response.json(messages, status=429, headers={"Retry-After": str(decision.retry_after)})
