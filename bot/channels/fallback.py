"""A survivor's message always gets an answer: when something behind the bot fails, the 24/7
lines (domain.yml `utter_service_trouble`) go out on the same channel instead of silence.

Rasa 3.6 does not fail a turn whose custom action cannot run (action server down, or answering
500): the processor logs the error, drops the action's events and carries on, so the survivor
gets nothing, or only what came before the failure. `always_answered` wraps a channel's
`on_new_message` and sends the fallback after a turn that
- sent no message (counted through a proxy of the turn's output channel), or
- had an action fail (the processor's log record of it, at ERROR, is the only sign; a log filter
  notes it for the turn running in the same asyncio context, never another), or
- raised (then the channel's own error handling runs only if the fallback could not be sent).
The reply is kept in the conversation like any bot message.
Never after a turn of a conversation paused for an advocate (the advocate answers; Rasa only
records what the survivor sends), nor when the person asked to leave (SMS EXIT, quick exit).

An emergency whose action could not run still gets the emergency reply (911, or 988), and its
handoff is opened from here, so advocates see it within seconds (CONTRACT).
Errors are logged by type only: their text can hold what the survivor wrote.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.actions.action import create_bot_utterance
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.core.constants import USER_INTENT_RESTART
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from bot.channels.words import Words

logger = logging.getLogger(__name__)

TROUBLE_RESPONSE = "utter_service_trouble"
EMERGENCY_INTENT = "emergency"
# What Rasa's processor logs (at ERROR, with the exception) when it drops a failed action's events.
ACTION_FAILED_LOG = "rasa.core.processor"
ACTION_FAILED_WORDS = "while running action"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass
class Turn:
    """What one turn did, as far as the survivor can tell."""

    sent: int = 0
    action_failed: bool = False


_current_turn: contextvars.ContextVar[Optional[Turn]] = contextvars.ContextVar("navigator_turn", default=None)


class _NoteFailedActions(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        turn = _current_turn.get()
        if turn is not None and record.levelno >= logging.ERROR and ACTION_FAILED_WORDS in str(record.msg):
            turn.action_failed = True
        return True  # the record is logged as usual


logging.getLogger(ACTION_FAILED_LOG).addFilter(_NoteFailedActions())


class CountingOutput(OutputChannel):
    """The turn's output channel, counting what it sends."""

    def __init__(self, inner: OutputChannel, turn: Turn):
        self.inner = inner
        self.turn = turn

    def name(self) -> Text:  # type: ignore[override]  # responses' `channel:` variations follow the inner one
        return self.inner.name()

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await self.inner.send_response(recipient_id, message)
        self.turn.sent += 1

    def __getattr__(self, name: Text) -> Any:
        if name == "inner":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)


def server_app() -> Any:
    """The Sanic app of this Rasa server (a Rasa server process runs exactly one)."""
    return Sanic.get_app()


def asked_to_leave(message: UserMessage) -> bool:
    """The channel ended the conversation (incoming.exit_message): Rasa's restart intent."""
    intent = (message.parse_data or {}).get("intent") or {}
    return intent.get("name") == USER_INTENT_RESTART


def always_answered(on_new_message: OnNewMessage) -> OnNewMessage:
    """`on_new_message`, followed by the 24/7 lines when the turn left the survivor unanswered."""

    async def handle(message: UserMessage) -> None:
        if asked_to_leave(message):
            await on_new_message(message)
            return
        output, turn = message.output_channel, Turn()
        message.output_channel = CountingOutput(output, turn)
        token = _current_turn.set(turn)
        failure: Optional[Exception] = None
        try:
            await on_new_message(message)
        except Exception as error:
            failure = error
            logger.error("a turn failed: %s", type(error).__name__)
            logger.debug("a turn failed", exc_info=True)
        finally:
            _current_turn.reset(token)
            message.output_channel = output
        if failure is None and turn.sent and not turn.action_failed:
            return
        try:
            await answer_instead(message.sender_id, output)
        except Exception as error:
            logger.error("the fallback reply could not be sent: %s", type(error).__name__)
            if failure is not None:
                raise failure  # the channel's own error handling is the last resort

    return handle


async def answer_instead(conversation_id: Text, output: OutputChannel) -> None:
    """Say the fallback (or, for an emergency, the emergency reply and open its handoff), unless
    an advocate holds the conversation."""
    words = Words(output.name())
    words.attach(server_app())
    conversation = await saved_conversation(words, conversation_id)
    if conversation is not None and conversation.is_paused():
        return
    response = TROUBLE_RESPONSE
    if conversation is not None and conversation.latest_message is not None \
            and conversation.latest_message.intent.get("name") == EMERGENCY_INTENT:
        response = await open_emergency_handoff(conversation)
    logger.warning("a turn got no answer from the bot; sent %s instead", response)
    message = await words.response(response, conversation)
    await output.send_response(conversation_id, dict(message))
    if conversation is not None:
        await remember(words.agent, conversation_id, {**message, "utter_action": response})


async def remember(agent: Any, conversation_id: Text, message: Dict[Text, Any]) -> None:
    """Keep the reply in the conversation as the bot's own: the advocate's transcript shows what
    the survivor was told, and the web chat's history (which counts the bot's messages) stays
    in step with what the widget showed."""
    try:
        async with agent.lock_store.lock(conversation_id):
            conversation = await agent.tracker_store.retrieve(conversation_id)
            if conversation is not None:
                conversation.update(create_bot_utterance(dict(message)))
                await agent.tracker_store.save(conversation)
    except Exception as error:
        logger.error("the fallback reply was sent but not kept in the conversation: %s", type(error).__name__)


async def saved_conversation(words: Words, conversation_id: Text) -> Optional[DialogueStateTracker]:
    """The conversation as saved, or None when the tracker store cannot be read."""
    try:
        return await words.conversation(conversation_id)
    except Exception as error:
        logger.error("the conversation could not be read: %s", type(error).__name__)
        return None


async def open_emergency_handoff(conversation: DialogueStateTracker) -> Text:
    """What action_emergency would have done first: open (or escalate) the emergency handoff,
    alert the advocates, and answer with the emergency reply."""
    # Imported here: only an emergency needs the action modules (they load the place tables).
    from bot.actions.handoff import EMERGENCY_RESPONSES, alert_in_background, record_handoff

    category = next(conversation.get_latest_entity_values("danger_type"), None) or "danger"
    alert_in_background(await asyncio.to_thread(record_handoff, conversation, "emergency", category), "emergency")
    return EMERGENCY_RESPONSES.get(category, EMERGENCY_RESPONSES["danger"])
