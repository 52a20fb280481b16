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


def test_an_emergency_that_also_asks_for_shelter_gets_911_first_then_shelters(directory_db, domain, tracker_factory):
    # "i need a shelter in boise he is hitting me": the safety component kept the kind it asked for.
    entities = danger("danger") + [{"entity": "service_kind", "value": "shelter", "start": 0, "end": 5},
                                   {"entity": "place", "value": "Boise, ID", "start": 0, "end": 5}]
    tracker = tracker_factory(text="i need a shelter in boise he is hitting me", intent="emergency", entities=entities)
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionEmergency().run(dispatcher, tracker, domain))
    said = [m.get("response") or m.get("text") for m in dispatcher.messages]
    assert said[:2] == ["utter_emergency_danger", "utter_emergency_can_say_no"]
    assert "shelter near Boise, ID" in said[2]  # the first result, under its header
    with db.session_scope() as session:
        assert [h.priority for h in list_handoffs(session, "open")] == ["emergency"]


def test_an_emergency_that_asks_for_help_without_a_place_says_a_town_will_bring_it(directory_db, domain,
                                                                                   tracker_factory):
    entities = danger("danger") + [{"entity": "service_kind", "value": "legal", "start": 0, "end": 5}]
    said = run(ActionEmergency(), tracker_factory(text="they took my papers and make me work", intent="emergency",
                                                  entities=entities), domain)
    assert said == ["utter_emergency_danger", "utter_emergency_can_say_no", "utter_emergency_place_later"]


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


def test_no_to_an_advocate_takes_the_waiting_handoff_out_of_the_queue(directory_db, domain, tracker_factory):
    from bot.actions.find_help import ActionRouteYesNo
    from navigator.handoffs import claim_handoff

    run(ActionEmergency(), tracker_factory(text="he is outside", intent="emergency", entities=danger("danger"),
                                           sender_id="says-no"), domain)
    run(ActionEmergency(), tracker_factory(text="he is outside", intent="emergency", entities=danger("danger"),
                                           sender_id="held"), domain)
    with db.session_scope() as session:
        held = next(h for h in list_handoffs(session, "open") if h.conversation_id == "held")
        claim_handoff(session, held.id, "maria")

    for sender in ("says-no", "held"):
        dispatcher = CollectingDispatcher()
        ActionRouteYesNo().run(dispatcher, tracker_factory({"awaiting": "advocate"}, "no", "deny", sender_id=sender),
                               domain)
        assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_declined"]
    with db.session_scope() as session:
        rows = {h.conversation_id: (h.status, h.outcome) for h in list_handoffs(session)}
    assert rows == {"says-no": ("closed", "declined"), "held": ("claimed", None)}
