"""The privacy and confidentiality answers say what is true of this deployment: who can read, how
long it is kept (RETENTION_DAYS), what the channel keeps and how to erase it; and the agency's
own limits of confidentiality, always after "you never have to report anything to get help"."""
import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot import response_rules as wording
from bot.actions.privacy import ActionAnswerConfidentiality, ActionAnswerPrivacy
from bot.actions.response_parts import phrase
from infra import config


def answer(action, tracker, domain) -> str:
    """The text the survivor reads (a response rendered as Rasa would, or the text itself)."""
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, domain)
    (message,) = dispatcher.messages
    if message.get("response"):
        values = {k: v for k, v in message.items() if k not in ("response", "text")}
        return phrase(domain, message["response"], tracker=tracker, **values)
    return message["text"]


@pytest.mark.parametrize("channel, says", [
    ("twilio", ("Twilio", "DELETE", "45 days", "Advocates")),
    ("webchat", ("Erase chat", "45 days", "Advocates")),
    ("rest", ("45 days", "Advocates")),
])
def test_who_can_read_and_how_long_it_is_kept_per_channel(domain, tracker_factory, monkeypatch, channel, says):
    monkeypatch.setenv("RETENTION_DAYS", "45")
    text = answer(ActionAnswerPrivacy(), tracker_factory(text="who can see this", intent="ask_privacy",
                                                         channel=channel), domain)
    assert all(word in text for word in says), text
    assert wording.problems(text) == []


def test_without_automatic_deletion_it_says_staff_delete_it(domain, tracker_factory, monkeypatch):
    monkeypatch.setenv("RETENTION_DAYS", "off")
    text = answer(ActionAnswerPrivacy(), tracker_factory(text="is this private", intent="ask_privacy"), domain)
    assert "kept until staff delete it" in text and "days" not in text


def test_confidentiality_states_its_limits_after_the_promise_that_stays(domain, tracker_factory, monkeypatch):
    monkeypatch.delenv("CONFIDENTIALITY_TEXT", raising=False)
    text = answer(ActionAnswerConfidentiality(), tracker_factory(text="do you tell the police", intent="ask_police"),
                  domain)
    assert text.startswith("You never have to report anything to get help here.")
    assert "court" in text and "child" in text and "911" in text  # the limits an agency really has
    assert wording.problems(text) == []


def test_an_agency_states_its_own_limits(domain, tracker_factory, monkeypatch):
    monkeypatch.setenv("CONFIDENTIALITY_TEXT", "  We keep what you say private.\nStaff must report harm to a child. ")
    text = answer(ActionAnswerConfidentiality(), tracker_factory(text="will you call the cops", intent="ask_police"),
                  domain)
    assert text == ("You never have to report anything to get help here. "
                    "We keep what you say private. Staff must report harm to a child.")


@pytest.mark.parametrize("bad, why", [("x" * 201, "201 characters"), ("We \u201ckeep\u201d it", "cannot carry")])
def test_confidentiality_text_an_sms_cannot_carry_stops_the_process_with_why(monkeypatch, bad, why):
    monkeypatch.setenv("CONFIDENTIALITY_TEXT", bad)
    with pytest.raises(SystemExit) as stopped:
        config.confidentiality_text()
    assert "CONFIDENTIALITY_TEXT" in str(stopped.value) and why in str(stopped.value)
