"""A survivor's message always gets an answer within seconds: when something behind the bot is
slow or fails, the Rasa server answers by itself on the same channel, with the emergency words
(911 or 988, the 24/7 lines, and a handoff) when the message is an emergency, else the 24/7 lines
(domain.yml `utter_service_trouble`). It needs neither the action server nor the directory.

Rasa 3.6 does not fail a turn whose custom action cannot run (action server down, stalled, or
answering 500): the processor logs the error, drops the action's events and carries on, so the
survivor gets nothing, or only what came before the failure; a stalled action server holds the
turn for Rasa's action timeout (server_policy.ACTION_TIMEOUT_S), and the conversation's lock with
it. `always_answered` wraps a channel's `on_new_message` and answers instead
- when the turn has not finished within TURN_DEADLINE_S: the survivor is answered now, and what
  the turn says later is not sent (it is still kept in the conversation); or, after the turn,
- when it sent no message (counted through a proxy of the turn's output channel), or
- when an action failed (the processor's log record of it, at ERROR, is the only sign; a log
  filter notes it for the turn running in the same asyncio context, never another), or
- when it raised (then the channel's own error handling runs only if the fallback could not be
  sent).
The message is read for danger with what the turn's own NLU pass found (noted as Rasa's processor
parses it, in the turn's asyncio context), or, when the turn did not get that far, by a pass of
the NLU pipeline here: on an overloaded server, a second pass for every late turn would add the
load that made it late. The reply is kept in the conversation like any
bot message, in the background (the stalled turn may hold the conversation's lock).
Never after a turn of a conversation paused for an advocate (the advocate answers; Rasa only
records what the survivor sends), nor when the person asked to leave (SMS EXIT, quick exit).
Errors are logged by type only: their text can hold what the survivor wrote.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

from rasa.core.actions.action import create_bot_utterance
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import USER_INTENT_RESTART
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from bot.channels.channel_responses import Words
from bot.dialogue import (
    AWAITING_ADVOCATE,
    ENTITY_DANGER_TYPE,
    INTENT_EMERGENCY,
    SLOT_AWAITING,
    UTTER_EMERGENCY_CAN_SAY_NO,
    UTTER_SERVICE_TROUBLE,
)
from bot.handoff_replies import DEFAULT_DANGER, after_asking, emergency_response, moment_responses
from bot.nlp.language import conversation_language
from conversations.handoff_requests import ask_for_advocate
from conversations.handoffs import EMERGENCY_PRIORITY
from conversations.shifts import shift_state

logger = logging.getLogger(__name__)

# How long a turn may take before the survivor is answered without it: far above a normal turn
# (tens of milliseconds) and a busy server's (benchmarks/load: p95 under 250 ms at 50 people),
# and short enough that a person in danger hears 911 within seconds whatever is stuck.
TURN_DEADLINE_S = 3.0
# What Rasa's processor logs (at ERROR, with the exception) when it drops a failed action's events.
ACTION_FAILED_LOG = "rasa.core.processor"
ACTION_FAILED_WORDS = "while running action"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
_background: Set["asyncio.Task"] = set()  # late turns and replies being kept, referenced until done


@dataclass
class Turn:
    """What one turn did, as far as the survivor can tell."""

    sent: int = 0
    action_failed: bool = False
    answered_instead: bool = False  # past the deadline: the turn's own words are no longer sent
    late: int = 0  # messages the turn said after that
    parsed: Optional[Dict[Text, Any]] = None  # what the turn's NLU pass made of the message


_current_turn: contextvars.ContextVar[Optional[Turn]] = contextvars.ContextVar("navigator_turn", default=None)


class _NoteFailedActions(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        turn = _current_turn.get()
        if turn is not None and record.levelno >= logging.ERROR and ACTION_FAILED_WORDS in str(record.msg):
            turn.action_failed = True
        return True  # the record is logged as usual


logging.getLogger(ACTION_FAILED_LOG).addFilter(_NoteFailedActions())

_rasa_parse_message = MessageProcessor.parse_message


async def _parse_and_note(self: MessageProcessor, message: UserMessage, *args: Any, **kwargs: Any) -> Dict[Text, Any]:
    """Rasa's parse, noted for the turn running in this asyncio context (if any)."""
    parsed = await _rasa_parse_message(self, message, *args, **kwargs)
    turn = _current_turn.get()
    if turn is not None and turn.parsed is None:
        turn.parsed = parsed
    return parsed


MessageProcessor.parse_message = _parse_and_note


class CountingOutput(OutputChannel):
    """The turn's output channel, counting what it sends (and holding back what it says after
    the survivor was answered without it)."""

    def __init__(self, inner: OutputChannel, turn: Turn):
        self.inner = inner
        self.turn = turn

    def name(self) -> Text:  # type: ignore[override]  # responses' `channel:` variations follow the inner one
        return self.inner.name()

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        if self.turn.answered_instead:
            self.turn.late += 1
            return
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


def always_answered(on_new_message: OnNewMessage, deadline_s: float = TURN_DEADLINE_S) -> OnNewMessage:
    """`on_new_message`, answered in its place (see the module) when it is late or leaves the
    survivor unanswered."""

    async def handle(message: UserMessage) -> None:
        if asked_to_leave(message):
            await on_new_message(message)
            return
        output, turn = message.output_channel, Turn()
        message.output_channel = CountingOutput(output, turn)
        token = _current_turn.set(turn)
        try:
            running = asyncio.ensure_future(on_new_message(message))  # runs in a copy of this context
        finally:
            _current_turn.reset(token)
        done, _ = await asyncio.wait({running}, timeout=deadline_s)
        if not done:
            turn.answered_instead = True
            logger.warning("a turn took longer than %.0f s; the survivor is answered without it", deadline_s)
            _let_finish(running, turn)
            await _answer_or_log(message, output, turn.parsed)
            return
        message.output_channel = output
        failure = asyncio.CancelledError() if running.cancelled() else running.exception()
        if failure is not None:
            logger.error("a turn failed: %s", type(failure).__name__)
            logger.debug("a turn failed", exc_info=failure)
        elif turn.sent and not turn.action_failed:
            return
        if not await _answer_or_log(message, output, turn.parsed) and failure is not None:
            raise failure  # the channel's own error handling is the last resort

    return handle


def _let_finish(running: "asyncio.Task", turn: Turn) -> None:
    """Keep a late turn referenced until it ends (it saves what the survivor wrote), and log how
    it ended, without its words."""
    def finished(task: "asyncio.Task") -> None:
        error = None if task.cancelled() else task.exception()
        logger.warning("a late turn ended%s; %d of its messages were not sent",
                       f" with {type(error).__name__}" if error else "", turn.late)

    _keep_referenced(running)
    running.add_done_callback(finished)


def _keep_referenced(task: "asyncio.Future") -> None:
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _answer_or_log(message: UserMessage, output: OutputChannel,
                         parsed: Optional[Dict[Text, Any]] = None) -> bool:
    try:
        await answer_instead(message, output, parsed)
        return True
    except Exception as error:
        logger.error("the fallback reply could not be sent: %s", type(error).__name__)
        return False


async def answer_instead(message: UserMessage, output: OutputChannel,
                         parsed: Optional[Dict[Text, Any]] = None) -> None:
    """Answer the message without the turn: the emergency words and a handoff when it is an
    emergency (`parsed`: what NLU made of it, when known), else the 24/7 lines; nothing when an
    advocate holds the conversation."""
    words = Words(output.name())
    words.attach(server_app())
    conversation = await saved_conversation(words, message.sender_id)
    if conversation is not None and conversation.is_paused():
        return
    category = await danger_in(words.agent, message.text, parsed)
    events: List[Event] = []
    if category is None:
        replies = [await words.response(UTTER_SERVICE_TROUBLE, conversation)]
        logger.warning("a turn got no answer from the bot; sent %s instead", UTTER_SERVICE_TROUBLE)
    else:
        replies, events = await emergency_replies(words, conversation, message, category)
        logger.warning("an emergency got no answer from the bot; the Rasa server answered it")
    for reply in replies:
        await output.send_response(message.sender_id, dict(reply))
    # Kept once the turn (which may still hold the conversation's lock) has saved what it did.
    _keep_referenced(asyncio.ensure_future(remember(words.agent, message.sender_id, replies, events)))


async def emergency_replies(words: Words, conversation: Optional[DialogueStateTracker], message: UserMessage,
                            category: Text) -> tuple[List[Dict[Text, Any]], List[Event]]:
    """What action_emergency would have said and done: the emergency words, the handoff (stored
    from here, with the advocates' alerts), and what came of it (bot.handoff_replies)."""
    first = await words.response(emergency_response(category), conversation)
    history = conversation.events if conversation is not None else None
    asked = await ask_for_advocate(message.sender_id, message.input_channel or "unknown", EMERGENCY_PRIORITY, category,
                                   events=history, language=conversation_language(history or (), [message.text or ""]))
    reply = after_asking(asked, shift_state(), emergency=True)
    values: Dict[Text, Any] = dict(place=reply.place)  # {place}: the place in line
    if reply.when is not None:
        day_response, moment_response, parts = moment_responses(reply.when)
        values["when"] = await words.text(moment_response, conversation,
                                          day=await words.text(day_response, conversation), **parts)
    replies = [first, await words.response(reply.response, conversation, **values)]
    if reply.can_decline:
        replies.append(await words.response(UTTER_EMERGENCY_CAN_SAY_NO, conversation))
    events: List[Event] = [SlotSet(SLOT_AWAITING, AWAITING_ADVOCATE)] if asked.stored else []
    return replies, events


async def danger_in(agent: Any, text: Optional[Text], parsed: Optional[Dict[Text, Any]] = None) -> Optional[Text]:
    """The emergency's category (self_harm, danger, medical) when the message is one, else None;
    None too when the message cannot be read (the 24/7 lines name 911 and 988 anyway)."""
    try:
        parsed = parsed or await agent.parse_message(text or "")
    except Exception as error:
        logger.error("a message could not be read for danger: %s", type(error).__name__)
        return None
    if (parsed.get("intent") or {}).get("name") != INTENT_EMERGENCY:
        return None
    found = [e.get("value") for e in parsed.get("entities") or [] if e.get("entity") == ENTITY_DANGER_TYPE]
    return found[0] if found else DEFAULT_DANGER


async def remember(agent: Any, conversation_id: Text, messages: List[Dict[Text, Any]],
                   events: List[Event]) -> None:
    """Keep the replies in the conversation as the bot's own: the advocate's transcript shows what
    the survivor was told, and the web chat's history (which counts the bot's messages) stays in
    step with what the widget showed."""
    try:
        async with agent.lock_store.lock(conversation_id):
            conversation = await agent.tracker_store.retrieve(conversation_id)
            if conversation is not None:
                for message in messages:
                    conversation.update(create_bot_utterance(dict(message)))
                for event in events:
                    conversation.update(event)
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
