"""CONTRACT's REST channel, made safe: "/" commands are words, the channel cannot be claimed to be
another, and a malformed body gets a clear 400."""
import uuid
from urllib.parse import quote

import pytest

from tests.helpers import http

pytestmark = pytest.mark.e2e


def rasa_api(stack, method, path, body=None, query=""):
    return http(method, f"{stack.rasa}{path}?{query}", body, headers=stack.rasa_api_headers())


def test_slash_restart_cannot_unpause_a_conversation_an_advocate_holds(channel_stack):
    sender = f"rest-{uuid.uuid4().hex[:8]}"
    channel_stack.say(sender, "I need a shelter")
    assert rasa_api(channel_stack, "POST", f"/conversations/{sender}/tracker/events", {"event": "pause"})[0] == 200
    status, answer = http("POST", channel_stack.rasa + "/webhooks/rest/webhook", {"sender": sender, "message": "/restart"})
    assert status == 200 and answer == []  # the advocate answers, not the bot
    state = rasa_api(channel_stack, "GET", f"/conversations/{sender}/tracker")[1]
    assert state["paused"] is True and state["slots"]["service_kind"] == "shelter"
    assert state["latest_message"]["text"] == "restart" and state["latest_message"]["intent"]["name"] != "restart"


def test_a_slash_command_cannot_pick_an_intent(channel_stack):
    sender = f"rest-{uuid.uuid4().hex[:8]}"
    channel_stack.say(sender, '/need_legal{"place": "Omaha, NE"}')
    state = rasa_api(channel_stack, "GET", f"/conversations/{sender}/tracker")[1]
    assert state["latest_message"]["text"] == 'need_legal{"place": "Omaha, NE"}'  # words for NLU, not a command


def test_a_caller_cannot_claim_to_be_the_sms_channel(channel_stack, twilio):
    sender = "15550106001"  # what a caller might try: a number as the sender id
    status, _ = http("POST", channel_stack.rasa + "/webhooks/rest/webhook",
                     {"sender": sender, "message": "I want to talk to a person", "input_channel": "twilio"})
    assert status == 200
    state = rasa_api(channel_stack, "GET", f"/conversations/{quote(sender)}/tracker")[1]
    assert state["latest_input_channel"] == "rest"
    status, _ = rasa_api(channel_stack, "POST", f"/conversations/{quote(sender)}/tracker/events",
                         {"event": "bot", "text": "advocate reply"}, "output_channel=latest&execute_side_effects=true&")
    assert status == 200 and twilio.to(sender) == []


@pytest.mark.parametrize("body", [{"sender": "x"}, {"sender": "x", "message": 5}, ["hi"], "not json"])
def test_a_malformed_body_gets_a_clear_400(channel_stack, body):
    status, answer = http("POST", channel_stack.rasa + "/webhooks/rest/webhook", body)
    assert status == 400 and "message" in answer["error"]
