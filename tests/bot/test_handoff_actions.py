"""Handing a conversation to a human advocate, as the survivor hears it: 911 or 988 first; that
an advocate was asked only when the handoff is in the queue; the place in line, or that nobody is
on shift and when the next shift starts; "no advocate" only when chosen clearly; and the
console's queue gets a handoff of the right priority."""
import asyncio
import datetime as dt

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.handoff import (
    ActionAdvocateStatus,
    ActionDeclineAdvocate,
    ActionEmergency,
    ActionHumanHandoff,
    ActionNoFirstContact,
)
from bot.actions.response_parts import phrase
from bot.actions.routing import ActionRouteFallback, ActionRouteYesNo
from conversations import handoff_requests
from conversations.alerts import Alert
from conversations.handoffs import claim_handoff, list_handoffs
from infra import db
from navigator import schema
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, TwilioStandIn

UNREACHABLE_DB = "postgresql://nobody@127.0.0.1:1/unreachable"  # refused at once
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def run(action, tracker, domain, wait_for_alerts=True):
    """Run the action as the action server does (and let its background alerts finish); the
    messages it said, as dicts (`response` and the values it filled in)."""
    dispatcher = CollectingDispatcher()

    async def turn():
        result = action.run(dispatcher, tracker, domain)
        if asyncio.iscoroutine(result):
            await result
        if wait_for_alerts:
            await handoff_requests.settled()

    asyncio.run(turn())
    return dispatcher.messages


def said(messages):
    return [m.get("response") or m.get("text") for m in messages]


def danger(category):
    return [{"entity": "danger_type", "value": category, "start": 0, "end": 5}]


def emergency(tracker_factory, sender="conv-1", category="danger", text="he has a gun", **kwargs):
    return tracker_factory(text=text, intent="emergency", entities=danger(category), sender_id=sender, **kwargs)


def open_handoffs():
    with db.session_scope() as session:
        return [(h.conversation_id, h.priority, h.declined_at is not None) for h in list_handoffs(session, "open")]


def off_shift_for_the_next_hours(monkeypatch):
    """Staffed one hour a week, starting three hours from now (so off shift now)."""
    start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3)
    end = start + dt.timedelta(hours=1)
    monkeypatch.setenv("STAFFED_HOURS", f"{DAY_NAMES[start.weekday()]} {start:%H}:00-{end:%H}:00")
    monkeypatch.setenv("STAFFED_TIMEZONE", "UTC")
    return start.replace(minute=0, second=0, microsecond=0)


def test_self_harm_hears_988_then_that_an_advocate_was_asked(directory_db, domain, tracker_factory):
    messages = run(ActionEmergency(), emergency(tracker_factory, category="self_harm", text="i want to die"), domain)
    assert said(messages) == ["utter_emergency_self_harm", "utter_advocate_asked_emergency",
                              "utter_emergency_can_say_no"]
    assert "988" in domain["responses"]["utter_emergency_self_harm"][0]["text"]
    with db.session_scope() as session:
        (handoff,) = list_handoffs(session, "open")
        assert (handoff.conversation_id, handoff.priority, handoff.channel, handoff.reason) == \
            ("conv-1", "emergency", "rest", "self_harm")


def test_the_way_to_decline_is_a_clear_choice_not_a_bare_no(domain):
    (button,) = domain["responses"]["utter_emergency_can_say_no"][0]["buttons"]
    assert button["title"] == "No advocate" and button["payload"] == "no advocate"


def test_danger_hears_911(directory_db, domain, tracker_factory):
    messages = run(ActionEmergency(), emergency(tracker_factory), domain)
    assert "911" in domain["responses"][said(messages)[0]][0]["text"]


def test_an_emergency_that_also_asks_for_shelter_gets_911_first_then_shelters(directory_db, domain, tracker_factory):
    # "i need a shelter in boise he is hitting me": the safety component kept the kind it asked for.
    entities = danger("danger") + [{"entity": "service_kind", "value": "shelter", "start": 0, "end": 5},
                                   {"entity": "place", "value": "Boise, ID", "start": 0, "end": 5}]
    tracker = tracker_factory(text="i need a shelter in boise he is hitting me", intent="emergency", entities=entities)
    messages = said(run(ActionEmergency(), tracker, domain))
    assert messages[:3] == ["utter_emergency_danger", "utter_advocate_asked_emergency", "utter_emergency_can_say_no"]
    assert "shelter near Boise, ID" in messages[3]  # the first result, under its header
    assert open_handoffs() == [("test-sender", "emergency", False)]


def test_an_emergency_that_asks_for_help_without_a_place_says_a_town_will_bring_it(directory_db, domain,
                                                                                   tracker_factory):
    entities = danger("danger") + [{"entity": "service_kind", "value": "legal", "start": 0, "end": 5}]
    messages = run(ActionEmergency(), tracker_factory(text="they took my papers and make me work",
                                                      intent="emergency", entities=entities), domain)
    assert said(messages)[-1] == "utter_emergency_place_later"


def test_a_request_for_a_person_then_an_emergency_is_one_emergency_handoff(directory_db, domain, tracker_factory):
    run(ActionHumanHandoff(), tracker_factory(text="talk to a person", intent="human_request", sender_id="c2"), domain)
    assert open_handoffs() == [("c2", "request", False)]
    run(ActionEmergency(), emergency(tracker_factory, sender="c2"), domain)
    assert open_handoffs() == [("c2", "emergency", False)]


def test_a_request_hears_its_place_in_line_and_emergencies_go_first(directory_db, domain, tracker_factory):
    first = run(ActionHumanHandoff(), tracker_factory(text="talk to a person", intent="human_request",
                                                      sender_id="first"), domain)
    second = run(ActionHumanHandoff(), tracker_factory(text="a person please", intent="human_request",
                                                       sender_id="second"), domain)
    assert [(m["response"], m["place"]) for m in first + second] == \
        [("utter_handoff_requested", 1), ("utter_handoff_requested", 2)]
    run(ActionEmergency(), emergency(tracker_factory, sender="urgent"), domain)
    status = run(ActionAdvocateStatus(), tracker_factory(text="how long", intent="ask_queue", sender_id="second"),
                 domain)
    assert [(m["response"], m["place"]) for m in status] == [("utter_queue_place", 3)]


def test_with_the_database_down_the_survivor_hears_911_and_no_false_promise(domain, tracker_factory, monkeypatch,
                                                                           tmp_path):
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DB)
    monkeypatch.setattr(handoff_requests, "RETRY_EVERY_S", 0.05)
    good = f"sqlite:///{tmp_path}/navigator.db"

    async def turn():
        dispatcher = CollectingDispatcher()
        events = await ActionEmergency().run(dispatcher, emergency(tracker_factory, sender="while-down"), domain)
        assert said(dispatcher.messages) == ["utter_emergency_danger", "utter_advocate_not_reached_emergency"]
        assert "I've asked" not in phrase(domain, "utter_advocate_not_reached_emergency")
        assert {"event": "slot", "name": "awaiting", "value": None, "timestamp": None} in events
        # The database comes back: the retry puts the emergency in the queue.
        schema.create_schema(db.engine_for(good))
        monkeypatch.setenv("DATABASE_URL", good)
        await handoff_requests.settled()

    asyncio.run(turn())
    assert open_handoffs() == [("while-down", "emergency", False)]


def test_out_of_hours_the_survivor_hears_nobody_is_on_shift_and_when_the_shift_starts(
        directory_db, domain, tracker_factory, monkeypatch):
    starts = off_shift_for_the_next_hours(monkeypatch)
    messages = run(ActionEmergency(), emergency(tracker_factory), domain)
    assert said(messages) == ["utter_emergency_danger", "utter_advocate_off_shift", "utter_emergency_can_say_no"]
    when = messages[1]["when"]
    clock = f"{starts.hour % 12 or 12}:00 {'PM' if starts.hour >= 12 else 'AM'}"
    assert when.endswith(clock) and when.split(" at ")[0] in ("today", "tomorrow")
    assert open_handoffs() == [("conv-1", "emergency", False)]  # kept for the next shift

    request = run(ActionHumanHandoff(), tracker_factory(text="a person", intent="human_request", sender_id="r"),
                  domain)
    assert said(request) == ["utter_handoff_off_shift"] and request[0]["when"] == when


def test_out_of_hours_an_agency_that_keeps_no_requests_asks_to_write_again(directory_db, domain, tracker_factory,
                                                                           monkeypatch):
    off_shift_for_the_next_hours(monkeypatch)
    monkeypatch.setenv("AFTER_HOURS_HANDOFFS", "drop")
    request = run(ActionHumanHandoff(), tracker_factory(text="a person", intent="human_request", sender_id="r"),
                  domain)
    assert said(request) == ["utter_handoff_off_shift_not_kept"]
    run(ActionEmergency(), emergency(tracker_factory, sender="e"), domain)
    assert open_handoffs() == [("e", "emergency", False)]  # emergencies are kept whatever the setting


def test_a_never_staffed_line_says_an_advocate_reads_later(directory_db, domain, tracker_factory, monkeypatch):
    monkeypatch.setenv("STAFFED_HOURS", "never")
    assert said(run(ActionEmergency(), emergency(tracker_factory), domain))[1] == "utter_advocate_off_shift_later"


@pytest.mark.parametrize("answer, intent", [("no", "deny"), ("no i cant talk", "deny"), ("???", "nlu_fallback")])
def test_after_an_emergency_an_unclear_no_keeps_the_advocate_coming(directory_db, domain, tracker_factory, answer,
                                                                    intent):
    run(ActionEmergency(), emergency(tracker_factory, sender="unclear"), domain)
    action = ActionRouteYesNo() if intent == "deny" else ActionRouteFallback()
    messages = run(action, tracker_factory({"awaiting": "advocate"}, answer, intent, sender_id="unclear"), domain)
    assert said(messages) == ["utter_advocate_still_asked"]
    assert open_handoffs() == [("unclear", "emergency", False)]


def test_no_advocate_chosen_keeps_an_emergency_for_review_and_closes_a_request(directory_db, domain,
                                                                             tracker_factory):
    run(ActionEmergency(), emergency(tracker_factory, sender="emergency"), domain)
    run(ActionHumanHandoff(), tracker_factory(text="a person", intent="human_request", sender_id="request"), domain)
    run(ActionEmergency(), emergency(tracker_factory, sender="held"), domain)
    with db.session_scope() as session:
        held = next(h for h in list_handoffs(session, "open") if h.conversation_id == "held")
        claim_handoff(session, held.id, "maria")

    for sender, answer in (("emergency", "utter_handoff_declined"), ("request", "utter_handoff_declined"),
                           ("held", "utter_advocate_has_chat")):  # an advocate holds it: their call, not the bot's
        messages = run(ActionDeclineAdvocate(), tracker_factory({"awaiting": "advocate"}, "no advocate",
                                                                "decline_advocate", sender_id=sender), domain)
        assert said(messages) == [answer]
    with db.session_scope() as session:
        rows = {h.conversation_id: (h.status, h.outcome, h.declined_at is not None) for h in list_handoffs(session)}
    assert rows == {"emergency": ("open", None, True), "request": ("closed", "declined", False),
                    "held": ("claimed", None, False)}
    # Nobody is coming now: "is anyone reading?" says so.
    status = run(ActionAdvocateStatus(), tracker_factory(text="is a human reading this", intent="bot_challenge",
                                                         sender_id="emergency"), domain)
    assert said(status) == ["utter_iamabot"]


def test_no_advocate_when_none_was_asked_says_so(directory_db, domain, tracker_factory):
    messages = run(ActionDeclineAdvocate(), tracker_factory({}, "no advocate", "decline_advocate"), domain)
    assert said(messages) == ["utter_no_advocate_asked"]


def test_is_a_person_reading_is_answered_for_each_state(directory_db, domain, tracker_factory):
    question = dict(text="is a human reading this", intent="bot_challenge", sender_id="asks")
    assert said(run(ActionAdvocateStatus(), tracker_factory(**question), domain)) == ["utter_iamabot"]
    run(ActionHumanHandoff(), tracker_factory(text="a person", intent="human_request", sender_id="asks"), domain)
    asked = run(ActionAdvocateStatus(), tracker_factory(**question), domain)
    assert [(m["response"], m["place"]) for m in asked] == [("utter_iamabot_advocate_asked", 1)]
    with db.session_scope() as session:
        claim_handoff(session, list_handoffs(session, "open")[0].id, "maria")
    assert said(run(ActionAdvocateStatus(), tracker_factory(**question), domain)) == ["utter_advocate_has_chat"]
    yes = run(ActionRouteYesNo(), tracker_factory({"awaiting": "advocate"}, "ok", "affirm", sender_id="asks"), domain)
    assert said(yes) == ["utter_advocate_has_chat"]


def test_dont_text_me_first_is_kept_in_the_conversation(domain, tracker_factory):
    dispatcher = CollectingDispatcher()
    events = ActionNoFirstContact().run(dispatcher, tracker_factory(text="dont text me first",
                                                                   intent="no_first_contact"), domain)
    assert said(dispatcher.messages) == ["utter_no_first_contact"]
    assert [(e["name"], e["value"]) for e in events] == [("contact_first", False)]


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
    run(ActionEmergency(), emergency(tracker_factory, sender="sms-conv-77", text="he is choking me zebra-words"),
        domain)
    alerts = twilio.sent
    assert sorted(a.to for a in alerts) == ["+15550001001", "+15550001002"]
    with db.session_scope() as session:
        (handoff,) = list_handoffs(session, "open")
        assert session.query(Alert).one().delivered == 2
    for alert in alerts:
        assert f"#{handoff.id}" in alert.body and "https://console.example.org/handoffs/" in alert.body
        assert "zebra" not in alert.body and "choking" not in alert.body and "sms-conv-77" not in alert.body


def test_alerts_go_out_when_a_handoff_is_new_more_urgent_or_wanted_again(directory_db, domain, tracker_factory,
                                                                        twilio, monkeypatch):
    monkeypatch.setenv("ADVOCATE_ALERT_NUMBERS", "+15550001001")
    run(ActionHumanHandoff(), tracker_factory(text="talk to a person", intent="human_request", sender_id="c9"), domain)
    run(ActionEmergency(), emergency(tracker_factory, sender="c9"), domain)
    run(ActionEmergency(), emergency(tracker_factory, sender="c9"), domain)  # the same again: no new alert
    run(ActionDeclineAdvocate(), tracker_factory(text="no advocate", intent="decline_advocate", sender_id="c9"), domain)
    assert len(twilio.sent) == 2  # declining alerts nobody
    run(ActionEmergency(), emergency(tracker_factory, sender="c9"), domain)  # danger again after "no advocate"
    bodies = [a.body for a in twilio.sent]
    assert len(bodies) == 3 and "URGENT" not in bodies[0] and "URGENT" in bodies[1] and "URGENT" in bodies[2]
    assert open_handoffs() == [("c9", "emergency", False)]


def test_a_twilio_outage_does_not_hold_back_911(directory_db, domain, tracker_factory, twilio, monkeypatch):
    monkeypatch.setenv("TWILIO_API_URL", "http://127.0.0.1:9")  # nothing listens there
    messages = run(ActionEmergency(), emergency(tracker_factory), domain, wait_for_alerts=False)
    assert said(messages)[:2] == ["utter_emergency_danger", "utter_advocate_asked_emergency"]
    assert open_handoffs() == [("conv-1", "emergency", False)]


def test_the_handoff_says_the_survivor_writes_in_spanish(directory_db, domain, tracker_factory):
    """The advocate who opens it knows before reading: a Spanish emergency's handoff is marked es
    (the queue and the alert say "Spanish"); an English one is marked en."""
    run(ActionEmergency(), emergency(tracker_factory, sender="es-1", text="tiene una pistola y esta aqui"), domain)
    run(ActionEmergency(), emergency(tracker_factory, sender="en-1", text="he has a gun and he is here"), domain)
    with db.session_scope() as session:
        languages = {h.conversation_id: h.language for h in list_handoffs(session, "open")}
    assert languages == {"es-1": "es", "en-1": "en"}


def test_the_alert_of_a_spanish_emergency_says_spanish_and_nothing_said(directory_db, domain, tracker_factory,
                                                                        twilio):
    run(ActionEmergency(), emergency(tracker_factory, sender="es-2", text="tiene una pistola y esta aqui"), domain)
    bodies = [a.body for a in twilio.sent]
    assert len(bodies) == 2 and all("(Spanish)" in body for body in bodies)
    assert not any("pistola" in body or "es-2" in body for body in bodies)
