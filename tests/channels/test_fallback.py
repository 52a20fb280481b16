"""The fallback around every channel's turns (bot/channels/fallback.py): a turn that left the
survivor unanswered, or has not answered within its deadline, gets the 24/7 lines on the same
channel; a paused conversation and an exit get nothing extra; an emergency still gets 911 and its
handoff, without the action server.

The turns here are stand-ins for Rasa's (they send, stay silent, log Rasa's failed-action error or
raise); the running navigator with its action server stopped is in tests/e2e/test_faults.py."""
from __future__ import annotations

import asyncio
import inspect
import logging
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels import fallback
from bot.channels.incoming import exit_message
from conversations import handoff_requests
from conversations.handoffs import list_handoffs
from infra import db
from infra.config import ROOT
from navigator import schema

DOMAIN = Domain.from_path(ROOT / "domain.yml")
LINES = ("911", "1-800-799-7233", "1-888-373-7888", "988")
# What the stand-in NLU reads as an emergency (the real one runs in tests/e2e).
EMERGENCIES = {"i want to die": "self_harm", "he has a gun": "danger"}


class Server:
    """What the fallback reads of a running Rasa server: its responses and saved conversations."""

    def __init__(self):
        self.tracker_store = InMemoryTrackerStore(DOMAIN)
        self.lock_store = InMemoryLockStore()
        self.nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
        self.app = SimpleNamespace(ctx=SimpleNamespace(agent=self))

    async def parse_message(self, text: str) -> dict:
        category = EMERGENCIES.get(text)
        if category is None:
            return {"text": text, "intent": {"name": "need_shelter", "confidence": 0.9}, "entities": []}
        return {"text": text, "intent": {"name": "emergency", "confidence": 1.0},
                "entities": [{"entity": "danger_type", "value": category}]}

    def save(self, sender: str, intent: str = "need_shelter", entities=(), paused: bool = False) -> None:
        events = [UserUttered("words", intent={"name": intent, "confidence": 1.0}, entities=list(entities),
                              input_channel="rest")]
        events += [ConversationPaused()] if paused else []
        tracker = DialogueStateTracker.from_events(sender, events, slots=DOMAIN.slots)
        asyncio.run(self.tracker_store.save(tracker))


@pytest.fixture
def server(monkeypatch):
    server = Server()
    monkeypatch.setattr(fallback, "server_app", lambda: server.app)
    return server


def turn_that(what: str):
    """A stand-in for Rasa's handling of one message."""
    async def on_new_message(message: UserMessage) -> None:
        if what in ("answers", "answers then an action fails"):
            await message.output_channel.send_response(message.sender_id, {"text": "Here is a shelter near you."})
        if what == "answers then an action fails":
            try:
                raise RuntimeError("action server answered 500")
            except RuntimeError:  # what Rasa 3.6's processor logs, and then goes on
                logging.getLogger("rasa.core.processor").exception(
                    "Encountered an exception while running action 'action_find_help'.Bot will continue, "
                    "but the actions events are lost.")
        if what == "raises":
            raise ConnectionError("tracker store unreachable")
        if what == "hangs, then answers":  # an action server that stalls (or a lock held elsewhere)
            await asyncio.sleep(0.6)
            await message.output_channel.send_response(message.sender_id, {"text": "Late words."})
    return on_new_message


def say(on_new_message, sender: str = "conv-1", message=None) -> list:
    output = CollectingOutputChannel()
    message = message or UserMessage("i need a shelter", output, sender, input_channel="rest")
    asyncio.run(fallback.always_answered(on_new_message)(message))
    return [m.get("text") or "" for m in message.output_channel.messages]


def test_a_turn_that_answers_gets_nothing_more(server):
    server.save("conv-1")
    assert say(turn_that("answers")) == ["Here is a shelter near you."]


@pytest.mark.parametrize("what", ["stays silent", "raises"])
def test_a_turn_left_unanswered_gets_the_24_7_lines(server, what):
    server.save("conv-1")
    (reply,) = say(turn_that(what))
    assert all(line in reply for line in LINES)


def test_the_lines_are_kept_in_the_conversation_as_the_bots_message(server):
    """So the advocate's transcript and the web chat's restored history show them too."""
    server.save("conv-1")
    (reply,) = say(turn_that("stays silent"))
    saved = asyncio.run(server.tracker_store.retrieve("conv-1"))
    assert isinstance(saved.events[-1], BotUttered) and saved.events[-1].text == reply


def test_a_turn_whose_action_failed_after_a_first_message_gets_the_lines_too(server):
    server.save("conv-1")
    first, fallback_reply = say(turn_that("answers then an action fails"))
    assert first == "Here is a shelter near you." and "1-800-799-7233" in fallback_reply


def test_the_lines_come_even_when_the_conversation_cannot_be_read(server, monkeypatch):
    async def unreadable(_sender):
        raise ConnectionError("tracker store down")
    monkeypatch.setattr(server.tracker_store, "retrieve", unreadable)
    (reply,) = say(turn_that("raises"))
    assert "911" in reply and "1-888-373-7888" in reply


def test_a_conversation_an_advocate_holds_gets_no_extra_message(server):
    server.save("conv-1", paused=True)
    assert say(turn_that("stays silent")) == []


def test_an_exit_gets_no_extra_message(server):
    server.save("conv-1")
    output = CollectingOutputChannel()
    assert say(turn_that("stays silent"), message=exit_message(output, "conv-1", "rest")) == []


def test_when_the_lines_cannot_be_sent_the_channel_sees_the_turns_error(server, monkeypatch):
    server.nlg = None  # the model is not loaded
    with pytest.raises(ConnectionError):
        say(turn_that("raises"))


def test_a_failed_action_in_one_conversation_does_not_mark_another(server):
    """Two turns at once (as on a busy server): only the one whose action failed gets the lines."""
    server.save("conv-a")
    server.save("conv-b")
    outputs = {sender: CollectingOutputChannel() for sender in ("conv-a", "conv-b")}

    async def both():
        async def failing(message):
            await asyncio.sleep(0.05)  # fails while the other turn is still running
            await turn_that("answers then an action fails")(message)

        async def slow(message):
            await asyncio.sleep(0.1)
            await turn_that("answers")(message)
        await asyncio.gather(
            fallback.always_answered(failing)(UserMessage("x", outputs["conv-a"], "conv-a", input_channel="rest")),
            fallback.always_answered(slow)(UserMessage("y", outputs["conv-b"], "conv-b", input_channel="rest")))

    asyncio.run(both())
    assert len(outputs["conv-a"].messages) == 2 and len(outputs["conv-b"].messages) == 1


def test_an_unanswered_emergency_hears_911_and_its_handoff_is_opened(server, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/navigator.db")
    schema.create_schema()
    server.save("conv-9", intent="emergency", entities=[{"entity": "danger_type", "value": "self_harm"}])

    async def turn():
        output = CollectingOutputChannel()
        await fallback.always_answered(turn_that("stays silent"))(
            UserMessage("i want to die", output, "conv-9", input_channel="rest"))
        await handoff_requests.settled()
        return [m["text"] for m in output.messages]

    first, then, way_out = asyncio.run(turn())
    assert "988" in first and "911" in first
    assert then == DOMAIN.responses["utter_advocate_asked_emergency"][0]["text"]
    assert way_out == DOMAIN.responses["utter_emergency_can_say_no"][0]["text"]  # "No advocate", as the action says
    with db.session_scope() as session:
        (handoff,) = list_handoffs(session, "open")
        assert (handoff.conversation_id, handoff.priority, handoff.reason, handoff.channel) == \
            ("conv-9", "emergency", "self_harm", "rest")


def late(server, text: str, sender: str) -> tuple[list, float, list]:
    """A turn that hangs past a short deadline: what the survivor got by then, how long it took,
    and what they got once the turn ended."""
    output = CollectingOutputChannel()

    async def turn():
        loop = asyncio.get_running_loop()
        started = loop.time()
        await fallback.always_answered(turn_that("hangs, then answers"), deadline_s=0.2)(
            UserMessage(text, output, sender, input_channel="rest"))
        answered_after = loop.time() - started
        answered = [m["text"] for m in output.messages]
        await asyncio.sleep(0.8)  # the turn ends
        await handoff_requests.settled()
        return answered, answered_after, [m["text"] for m in output.messages]

    return asyncio.run(turn())


def test_a_turn_that_hangs_is_answered_at_its_deadline_and_its_late_words_are_not_sent(server):
    server.save("conv-slow")
    answered, after, in_the_end = late(server, "i need a shelter", "conv-slow")
    assert after < 0.5 and len(answered) == 1 and all(line in answered[0] for line in LINES)
    assert in_the_end == answered  # "Late words." never reach the survivor


def test_an_emergency_whose_turn_hangs_hears_911_at_the_deadline_and_gets_its_handoff(server, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/navigator.db")
    schema.create_schema()
    answered, after, _ = late(server, "he has a gun", "conv-stuck")  # not even saved yet: read here
    assert after < 0.5 and "911" in answered[0] and answered[1].startswith("I've asked a human advocate")
    with db.session_scope() as session:
        assert [(h.conversation_id, h.priority) for h in list_handoffs(session, "open")] == [("conv-stuck", "emergency")]


def test_rasa_still_logs_a_failed_action_the_way_the_fallback_notices():
    """The fallback learns of a failed action from this log line of Rasa's processor (Rasa 3.6)."""
    source = inspect.getsource(MessageProcessor._run_action)
    assert "logger.exception(" in source and fallback.ACTION_FAILED_WORDS in source
    assert fallback.ACTION_FAILED_LOG == MessageProcessor.__module__


def test_a_late_turn_whose_nlu_pass_found_an_emergency_is_not_read_twice(server, monkeypatch, tmp_path):
    """On an overloaded server a second NLU pass for every late turn would add the load that made
    it late: what the turn's own pass found is used."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/navigator.db")
    schema.create_schema()
    read_here = []

    async def rasa_parse(_processor, message, *args, **kwargs):
        return await Server.parse_message(server, "he has a gun")  # the turn's NLU: an emergency

    async def parse_again(text):
        read_here.append(text)
        return await Server.parse_message(server, text)

    monkeypatch.setattr(fallback, "_rasa_parse_message", rasa_parse)
    server.parse_message = parse_again

    async def parses_then_hangs(message):
        await MessageProcessor.parse_message(None, message)
        await asyncio.sleep(0.6)

    async def turn():
        output = CollectingOutputChannel()
        await fallback.always_answered(parses_then_hangs, deadline_s=0.2)(
            UserMessage("words the stand-in does not know", output, "conv-parsed", input_channel="rest"))
        await asyncio.sleep(0.6)
        await handoff_requests.settled()
        return [m["text"] for m in output.messages]

    answered = asyncio.run(turn())
    assert "911" in answered[0] and read_here == []
