"""Handing a conversation to a human advocate: the survivor hears 911 or 988 first, and the
console's queue gets a handoff of the right priority."""
import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import handoff as handoff_actions
from bot.actions.handoff import ActionEmergency, ActionHumanHandoff
from navigator import db
from navigator.alerts import Alert
from navigator.handoffs import list_handoffs
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, TwilioStandIn


def run(action, tracker, domain, wait_for_alerts=True):
    """Run the action as the action server does (and let its background alerts finish)."""
    dispatcher = CollectingDispatcher()

    async def turn():
        await action.run(dispatcher, tracker, domain)
        if wait_for_alerts:
            await asyncio.gather(*handoff_actions._background)

    asyncio.run(turn())
    return [m.get("response") for m in dispatcher.messages]


def danger(category):
    return [{"entity": "danger_type", "value": category, "start": 0, "end": 5}]


def test_self_harm_hears_988_and_opens_an_emergency_handoff(directory_db, domain, tracker_factory):
    tracker = tracker_factory(text="i want to die", intent="emergency", entities=danger("self_harm"),
                              sender_id="conv-1")
    said = run(ActionEmergency(), tracker, domain)
    assert said[0] == "utter_emergency_self_harm"
    assert "988" in domain["responses"][said[0]][0]["text"]
    with db.session_scope() as session:
        (handoff,) = list_handoffs(session, "open")
        assert (handoff.conversation_id, handoff.priority, handoff.channel, handoff.reason) == \
            ("conv-1", "emergency", "rest", "self_harm")


def test_danger_hears_911(directory_db, domain, tracker_factory):
    said = run(ActionEmergency(), tracker_factory(text="he has a gun", intent="emergency",
                                                  entities=danger("danger")), domain)
    assert "911" in domain["responses"][said[0]][0]["text"]


def test_a_request_for_a_person_then_an_emergency_is_one_emergency_handoff(directory_db, domain, tracker_factory):
    run(ActionHumanHandoff(), tracker_factory(text="talk to a person", intent="human_request", sender_id="c2"), domain)
    with db.session_scope() as session:
        assert [h.priority for h in list_handoffs(session, "open")] == ["request"]
    run(ActionEmergency(), tracker_factory(text="he is here", intent="emergency", entities=danger("danger"),
                                           sender_id="c2"), domain)
    with db.session_scope() as session:
        assert [h.priority for h in list_handoffs(session, "open")] == ["emergency"]


def test_the_survivor_still_hears_911_when_the_database_is_down(domain, tracker_factory, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/unreachable")  # refused at once
    said = run(ActionEmergency(), tracker_factory(text="he has a gun", intent="emergency", entities=danger("danger")),
               domain)
    assert said[0] == "utter_emergency_danger"


@pytest.fixture
def twilio(monkeypatch):
    standin = TwilioStandIn().start()
    for name, value in {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                        "TWILIO_NUMBER": NAVIGATOR_NUMBER, "TWILIO_API_URL": standin.url,
                        "ADVOCATE_ALERT_NUMBERS": "+15550001001, +15550001002",
                        "CONSOLE_PUBLIC_URL": "https://console.example.org"}.items():
        monkeypatch.setenv(name, value)
    yield standin
    standin.stop()


def test_on_call_advocates_get_an_alert_without_words_or_number(directory_db, domain, tracker_factory, twilio):
    said = "he is choking me zebra-words"
    run(ActionEmergency(), tracker_factory(text=said, intent="emergency", entities=danger("danger"),
                                           sender_id="sms-conv-77"), domain)
    alerts = twilio.sent
    assert sorted(a.to for a in alerts) == ["+15550001001", "+15550001002"]
    with db.session_scope() as session:
        (handoff,) = list_handoffs(session, "open")
        assert session.query(Alert).one().delivered == 2
    for alert in alerts:
        assert f"#{handoff.id}" in alert.body and "https://console.example.org/handoffs/" in alert.body
        assert "zebra" not in alert.body and "choking" not in alert.body and "sms-conv-77" not in alert.body


def test_a_request_then_an_emergency_alerts_twice_a_repeat_does_not(directory_db, domain, tracker_factory, twilio,
                                                                   monkeypatch):
    monkeypatch.setenv("ADVOCATE_ALERT_NUMBERS", "+15550001001")
    run(ActionHumanHandoff(), tracker_factory(text="talk to a person", intent="human_request", sender_id="c9"), domain)
    run(ActionEmergency(), tracker_factory(text="he is here", intent="emergency", entities=danger("danger"),
                                           sender_id="c9"), domain)
    run(ActionEmergency(), tracker_factory(text="he is here", intent="emergency", entities=danger("danger"),
                                           sender_id="c9"), domain)
    bodies = [a.body for a in twilio.sent]
    assert len(bodies) == 2 and "URGENT" not in bodies[0] and "URGENT" in bodies[1]


def test_a_twilio_outage_does_not_hold_back_911(directory_db, domain, tracker_factory, twilio, monkeypatch):
    monkeypatch.setenv("TWILIO_API_URL", "http://127.0.0.1:9")  # nothing listens there
    said = run(ActionEmergency(), tracker_factory(text="he has a gun", intent="emergency",
                                                  entities=danger("danger")), domain, wait_for_alerts=False)
    assert said[0] == "utter_emergency_danger"
    with db.session_scope() as session:
        assert [h.priority for h in list_handoffs(session, "open")] == ["emergency"]
