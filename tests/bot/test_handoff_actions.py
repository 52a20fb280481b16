"""Handing a conversation to a human advocate: the survivor hears 911 or 988 first, and the
console's queue gets a handoff of the right priority."""
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.handoff import ActionEmergency, ActionHumanHandoff
from navigator import db
from navigator.handoffs import list_handoffs


def run(action, tracker, domain):
    dispatcher = CollectingDispatcher()
    action.run(dispatcher, tracker, domain)
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
