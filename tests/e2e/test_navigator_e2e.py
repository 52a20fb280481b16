"""The whole navigator, as `make run` starts it, driven only through CONTRACT.md's interfaces:
the Rasa REST channel, the console API and the `navigator` CLI."""
from __future__ import annotations

import socket
import time
import uuid

import pytest

from infra.config import ROOT
from navigator.setup import model_path
from tests.helpers import Stack, http, wait_until

pytestmark = pytest.mark.e2e
SAMPLE_DIRECTORY = ROOT.parent / "shared" / "eval" / "sample" / "directory_hsds3"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    if not SAMPLE_DIRECTORY.exists():
        pytest.skip("../shared/eval/sample is not here")
    stack = Stack(tmp_path_factory.mktemp("stack"))
    stack.start()
    imported = stack.cli("import-hsds", str(SAMPLE_DIRECTORY))
    assert imported.returncode == 0, imported.stderr
    created = stack.cli("tokens", "create", "e2e")
    assert created.returncode == 0, created.stderr
    stack.token = created.stdout.strip().splitlines()[-1]
    yield stack
    stack.stop()


def sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def test_kind_and_place_in_one_message_get_the_nearest_services_at_once(stack):
    reply = stack.say(sender(), "I need a shelter in Boise")
    assert "Foothills Quiet House" in reply and "(555) 0100-1000" in reply
    assert "Old Boise Shelter" not in reply  # inactive
    assert reply.index("Foothills Quiet House") < reply.index("Table Rock Family Shelter")


def test_a_kind_then_the_place_the_bot_asks_for(stack):
    conversation = sender()
    asked = stack.say(conversation, "I need help with drugs")
    assert "ZIP" in asked and "Missouri Bend Recovery" not in asked
    assert "Missouri Bend Recovery" in stack.say(conversation, "Omaha, NE")


def test_an_emergency_mid_flow_names_911_and_opens_an_emergency_handoff_within_2_s(stack):
    conversation = sender()
    stack.say(conversation, "I need a shelter")
    reply = stack.say(conversation, "he has a gun and he's here")
    said_at = time.monotonic()
    assert "911" in reply
    assert wait_until(lambda: any(h["conversation_id"] == conversation and h["priority"] == "emergency"
                                  for h in stack.handoffs()), 2, interval=0.2)
    assert time.monotonic() - said_at < 2.5
    (handoff,) = [h for h in stack.handoffs() if h["conversation_id"] == conversation]
    assert handoff["channel"] == "rest" and handoff["status"] == "open"


def test_an_unclear_no_after_an_emergency_does_not_close_its_handoff(stack):
    conversation = sender()
    assert "911" in stack.say(conversation, "he is hitting me and i cant get out")
    assert wait_until(lambda: [h for h in stack.handoffs() if h["conversation_id"] == conversation], 2, interval=0.2)
    reply = stack.say(conversation, "no i cant talk")
    assert "No advocate" in reply and "still read this chat" in reply
    (handoff,) = [h for h in stack.handoffs() if h["conversation_id"] == conversation]
    assert (handoff["status"], handoff["priority"], handoff["declined_at"]) == ("open", "emergency", None)


def test_no_advocate_chosen_after_an_emergency_keeps_it_in_the_queue_for_review(stack):
    conversation = sender()
    stack.say(conversation, "he said he will kill me tonight")
    assert "OK, no advocate" in stack.say(conversation, "no advocate")
    (handoff,) = [h for h in stack.handoffs() if h["conversation_id"] == conversation]
    assert handoff["status"] == "open" and handoff["declined_at"]


def test_a_burst_of_15_messages_whose_last_says_he_has_a_gun_opens_an_emergency_handoff(stack):
    conversation = sender()
    statuses = [http("POST", stack.rasa + "/webhooks/rest/webhook", {"sender": conversation, "message": piece})[0]
                for piece in ["hi", "i need", "help", "please", "im", "at home", "he", "came", "back", "hes",
                              "yelling", "at me", "i", "cant"]]
    assert statuses[:10] == [200] * 10 and 429 in statuses[10:]  # past the burst: kept, not answered
    status, replies = http("POST", stack.rasa + "/webhooks/rest/webhook",
                           {"sender": conversation, "message": "he has a gun"})
    assert status == 200 and "911" in replies[0]["text"]
    assert wait_until(lambda: [h for h in stack.handoffs() if h["conversation_id"] == conversation
                               and h["priority"] == "emergency"], 2, interval=0.2)


def test_is_a_person_reading_and_how_long_are_answered_truthfully(stack):
    conversation = sender()
    assert "no one is reading this chat" in stack.say(conversation, "is a human reading this?")
    assert "You are number" in stack.say(conversation, "i want to talk to a person")
    assert "in line" in stack.say(conversation, "how long will it take")


def test_self_harm_names_988(stack):
    assert "988" in stack.say(sender(), "i want to kill myself")


def test_the_console_api_refuses_requests_without_a_valid_token(stack):
    status, body = http("GET", stack.console + "/api/handoffs?status=open")
    assert status == 401 and "conversation_id" not in str(body)


def test_the_cli_search_sees_the_import_without_a_restart(stack):
    result = stack.cli("search", "--kind", "legal", "--near", "omaha", "--json")
    assert result.returncode == 0, result.stderr
    assert "Old Market Survivor Law" in result.stdout


def test_logs_hold_no_message_text(stack):
    secret = f"i need a shelter near 68102 codeword{uuid.uuid4().hex[:6]}"
    stack.say(sender(), secret)
    log = stack.log.read_text(errors="replace")
    assert "codeword" not in log and "he has a gun" not in log


def test_sigterm_stops_all_three_processes(stack):
    assert stack.stop() == 0
    for port in stack.ports.values():
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
