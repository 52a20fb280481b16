"""CONTRACT's REST channel (POST /webhooks/rest/webhook): Rasa's shape, `{"sender": ID, "message":
TEXT}` in, the bot's messages as a JSON list out, with these made safe.

- Text that starts with "/" reaches NLU as plain words (incoming.user_message), so "/restart"
  cannot un-pause a conversation an advocate holds, nor can any message pick an intent or fill
  a slot.
- The channel is always "rest": a caller cannot claim to be another channel (say "twilio"), which
  would make an advocate's reply go out as an SMS to whatever the sender id says.
- A body that is not `{"sender": ..., "message": TEXT}` gets a 400 that says so; a failed turn is
  logged without the message text (Rasa's channel logs the text with the error).
- The sender is the REST conversation's id and nothing more (CONTRACT): it must match
  SENDER_PATTERN (it goes into URLs, logs and the console), and a sender another channel's ids
  start with (bot/channels/sender_ids.py: `sms-`, `web-`, `wa-`, `whatsapp`) gets a 400 that says
  so and is not run, so a REST caller can never read from, write into or take over (as the
  output channel an advocate's reply goes to) an SMS, WhatsApp or web chat conversation.
- A sender or an address over its rate limit (infra.rate_limits) still reaches the safety
  net (safety_net.py): an emergency, or a conversation an advocate holds, is answered as usual
  (200); anything else is kept for the advocate and answered 429 with Retry-After and, in the
  usual list shape, `utter_rate_limited` (not every message gets an answer; 911, the 24/7 lines).
- A message longer than incoming.MAX_TEXT_CHARS is answered from its first part, followed by
  `utter_message_too_long` (incoming.py).
- Every turn is answered within seconds whatever fails behind it (fallback.always_answered).
"""
from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.blueprint import channel_blueprint
from bot.channels.channel_responses import Words
from bot.channels.incoming import is_too_long, user_message
from bot.channels.safety_net import over_the_limit
from bot.channels.sender_ids import RESERVED_PREFIXES, owned_by_a_channel
from bot.dialogue import UTTER_MESSAGE_TOO_LONG, UTTER_RATE_LIMITED
from infra.rate_limits import Decision, client_address, survivor_limits

logger = logging.getLogger(__name__)

CHANNEL = "rest"
BAD_BODY = 'expected a JSON object {"sender": ID, "message": TEXT}'
DEFAULT_SENDER = "default"  # Rasa's, for a body without a sender
# Ids like "eval-search-1a2b", uuids, "default", "+15550100" (an integration's own ids): nothing
# that needs escaping in a URL path (the console calls /conversations/{id}/... with it,
# console/rasa_api.PATH_SAFE) or a log line, no "." or ".." segment a URL client would resolve
# away, and bounded. A phone-shaped id is a REST conversation like any other: the SMS line's
# conversations are "sms-…", never a number.
SENDER_PATTERN = re.compile(r"[A-Za-z0-9+][A-Za-z0-9_.@:+-]{0,63}")
BAD_SENDER = "sender must be 1 to 64 characters: a letter, digit or +, then letters, digits or any of . _ @ : + -"
OTHER_CHANNELS_SENDER = ("sender must not start with " + ", ".join(repr(p) for p in RESERVED_PREFIXES)
                         + " (case-insensitive): those are the ids of other channels' conversations")


class SafeRestInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self) -> None:
        self.words = Words(CHANNEL)
        self.limits = survivor_limits()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        rest, on_new_message = channel_blueprint("navigator_rest", __name__, self.words, on_new_message)

        @rest.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = _body(request)
            if body is None:
                return response.json({"error": BAD_BODY}, status=400)
            sender = str(body.get("sender", DEFAULT_SENDER))
            refusal = sender_refusal(sender)
            if refusal:
                return response.json({"error": refusal}, status=400)
            collector = CollectingOutputChannel()
            message = user_message(body["message"], collector, sender, CHANNEL)
            decision = self.limits.check(sender=sender, address=client_address(request))
            try:
                if decision.allowed:
                    await self.turn(message, body["message"], on_new_message)
                elif not await over_the_limit(message, on_new_message, self.words.agent):
                    return await self.slow_down(sender, decision)
            except Exception as error:  # the messages said so far are still answered
                logger.error("a REST turn failed: %s", type(error).__name__)
                logger.debug("a REST turn failed", exc_info=True)
            return response.json(collector.messages)

        return rest

    async def turn(self, message: UserMessage, typed: Text,
                   on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        await on_new_message(message)
        if is_too_long(typed):
            await message.output_channel.send_response(
                message.sender_id, await self.words.response(UTTER_MESSAGE_TOO_LONG))

    async def slow_down(self, sender: Text, decision: Decision) -> HTTPResponse:
        """429, and the kind words in the bot's usual shape (the default variation: a refusal
        must stay cheap, so it reads no conversation)."""
        try:
            messages = [{"recipient_id": sender, **await self.words.response(UTTER_RATE_LIMITED)}]
        except LookupError:  # the model is not loaded yet
            messages = []
        return response.json(messages, status=429, headers={"Retry-After": str(decision.retry_after)})


def sender_refusal(sender: Text) -> Optional[Text]:
    """Why this REST sender is refused, or None when it may be a REST conversation's id."""
    if not SENDER_PATTERN.fullmatch(sender):
        return BAD_SENDER
    if owned_by_a_channel(sender):
        return OTHER_CHANNELS_SENDER
    return None


def _body(request: Request) -> Optional[dict]:
    """`{"sender": ID, "message": TEXT}` as sent, or None when it is not that."""
    try:
        body = request.json
    except Exception:  # Sanic raises on invalid JSON
        return None
    if isinstance(body, dict) and isinstance(body.get("message"), str) \
            and isinstance(body.get("sender", ""), (str, int)):
        return body
    return None
