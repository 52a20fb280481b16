"""A message over a rate limit still reaches the safety net (infra.rate_limits).

The limits keep one client from taking a server's CPU or flooding the queue, but people in crisis
send bursts of short pieces, and the tenth piece may be "he has a gun". So a message past a limit
is never simply dropped:
- in a conversation an advocate holds, it is handled as any message (Rasa records it for the
  advocate; the bot is paused): held conversations are never limited;
- otherwise it is read for danger (the NLU pipeline, with its emergency detector), and an
  emergency is answered as any message: 911 or 988, and a handoff;
- anything else is kept in the conversation, unanswered, so an advocate who reads it later sees
  everything the survivor wrote; the channel tells the person once that not every message gets
  an answer (`utter_rate_limited`, which names 911 and the 24/7 lines).
What a message past the limit costs is the NLU pass, not a turn: no custom action, no search.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, UserUttered

from bot.dialogue import INTENT_EMERGENCY

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


async def over_the_limit(message: UserMessage, on_new_message: OnNewMessage, agent: Any) -> bool:
    """Handle `message`, which came past a rate limit. True when it ran as a turn (a conversation
    an advocate holds, or an emergency: its replies went to the message's output channel), False
    when it was only read for danger and kept (the channel says `utter_rate_limited`)."""
    conversation = await agent.tracker_store.retrieve(message.sender_id)
    if conversation is not None and conversation.is_paused():
        await on_new_message(message)
        return True
    parsed = await agent.parse_message(message.text)
    if (parsed.get("intent") or {}).get("name") == INTENT_EMERGENCY:
        logger.warning("an emergency came past a rate limit; answered all the same")
        await on_new_message(message)
        return True
    await keep_unanswered(agent, message, parsed)
    return False


async def keep_unanswered(agent: Any, message: UserMessage, parsed: dict) -> None:
    """Add the message to its conversation as the survivor's, followed by the bot listening (as
    a paused conversation records one), under the conversation's lock."""
    async with agent.lock_store.lock(message.sender_id):
        conversation = await agent.tracker_store.get_or_create_tracker(message.sender_id)
        conversation.update(UserUttered(message.text, parsed.get("intent"), parsed.get("entities") or [], parsed,
                                        input_channel=message.input_channel))
        conversation.update(ActionExecuted(ACTION_LISTEN_NAME))
        await agent.tracker_store.save(conversation)
