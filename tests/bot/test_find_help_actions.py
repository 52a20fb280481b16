"""The find-help actions, run on a tracker against a directory holding the shared sample (Boise and
Omaha services): what a person asking for help actually reads back."""
import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import find_help
from bot.actions.find_help import ActionAnswerHours, ActionAskKind, ActionFindHelp, ActionMoreResults
from bot.actions.notices import ActionNotices
from bot.actions.routing import ActionRouteFallback, ActionRouteYesNo
from bot.actions.where import where_to_search
from bot.response_rules import SMS_LIMIT
from infra.db import session_scope


def run(action, tracker, domain):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain)
    return dispatcher.messages, events


def texts(messages):
    return "\n".join(m.get("text") or "" for m in messages)


def responses(messages):
    return [m.get("response") for m in messages]


def slot(events, name):
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    return values[-1] if values else None


def place_entity(value):
    return [{"entity": "place", "value": value, "start": 0, "end": len(value)}]


def test_kind_and_place_give_the_nearest_active_services(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "shelter", "place": "Boise, ID"}, "I need a shelter in Boise",
                              "need_shelter", place_entity("Boise, ID"))
    messages, events = run(ActionFindHelp(), tracker, domain)
    shown = texts(messages)
    assert shown.index("Foothills Quiet House") < shown.index("Table Rock Family Shelter")  # nearest first
    assert "Old Boise Shelter" not in shown  # inactive
    assert "(555) 0100-1000" in shown and "miles away" in shown
    assert "Omaha" not in shown
    assert all(len(m["text"]) <= SMS_LIMIT for m in messages if m.get("text"))  # one SMS per service


def test_the_first_answer_says_once_that_it_is_automated(directory_db, domain, tracker_factory):
    tracker = tracker_factory({}, "free legal help in omaha", "need_legal")
    messages, events = run(ActionNotices(), tracker, domain)
    assert responses(messages) == ["utter_intro"] and slot(events, "intro_given") is True
    again, _ = run(ActionNotices(), tracker_factory({"intro_given": True}, "legal help", "need_legal"), domain)
    assert again == []


def test_asking_are_you_a_bot_first_needs_no_second_intro(domain, tracker_factory):
    messages, events = run(ActionNotices(), tracker_factory({}, "are you a bot", "bot_challenge"), domain)
    assert messages == [] and slot(events, "intro_given") is True  # utter_iamabot says it


def test_sms_users_hear_once_how_to_delete_the_thread_and_stop(domain, tracker_factory):
    first, events = run(ActionNotices(), tracker_factory({}, "shelter in boise", "need_shelter", channel="twilio"),
                        domain)
    assert responses(first) == ["utter_sms_first_words", "utter_sms_privacy_note", "utter_intro"]
    assert slot(events, "sms_note_given") is True
    later, _ = run(ActionNotices(), tracker_factory({"intro_given": True, "sms_note_given": True}, "more",
                                                    "more_results", channel="twilio"), domain)
    assert later == []
    web, _ = run(ActionNotices(), tracker_factory({}, "shelter in boise", "need_shelter", channel="webchat"), domain)
    assert responses(web) == ["utter_intro"]


def test_the_first_words_on_a_locked_phone_give_nothing_away(domain):
    """A lock screen shows the start of the first text: no abuse, police or shelter there, the
    question whether it is safe to text, and a one-word way out."""
    first = domain["responses"]["utter_sms_first_words"][0]["text"]
    for word in ("abuse", "police", "shelter", "violence", "danger", "911", "traffick", "assault", "hotline"):
        assert word not in first.lower()
    assert "safe to text" in first and "EXIT" in first


def test_a_kind_without_a_place_asks_where(directory_db, domain, tracker_factory):
    messages, events = run(ActionFindHelp(), tracker_factory({"service_kind": "substance_use"},
                                                             "I need help with drugs", "need_substance_use"), domain)
    assert responses(messages) == ["utter_ask_place"]
    assert slot(events, "awaiting") == "place"


def test_a_place_without_a_kind_asks_what_kind(directory_db, domain, tracker_factory):
    messages, _ = run(ActionFindHelp(), tracker_factory({"place": "Omaha, NE"}, "Omaha, NE", "inform_place",
                                                        place_entity("Omaha, NE")), domain)
    assert responses(messages) == ["utter_ask_kind"]


def test_skipping_the_place_gives_the_national_lines_for_that_kind(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "substance_use", "awaiting": "place"}, "skip", "skip_place")
    messages, events = run(ActionFindHelp(), tracker, domain)
    assert "1-800-662-4357" in texts(messages)  # SAMHSA
    assert slot(events, "place_declined") is True


def test_after_skipping_a_new_kind_gets_its_lines_without_asking_where_again(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "legal", "place_declined": True}, "i need a lawyer", "need_legal")
    messages, _ = run(ActionFindHelp(), tracker, domain)
    assert "utter_ask_place" not in responses(messages) and "1-888-373-7888" in texts(messages)


def test_no_services_nearby_gives_the_national_lines(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "shelter", "place": "Miami, FL"}, "shelter in miami", "need_shelter",
                              place_entity("Miami, FL"))
    messages, _ = run(ActionFindHelp(), tracker, domain)
    assert "1-800-799-7233" in texts(messages)
    assert "Foothills" not in texts(messages)


def test_an_untagged_place_the_bot_asked_for_is_geocoded_from_the_text(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "shelter", "awaiting": "place"}, "somewhere around 68102 i think",
                              "nlu_fallback")
    messages, events = run(ActionRouteFallback(), tracker, domain)
    assert "Riverfront Refuge Omaha" in texts(messages)
    assert slot(events, "place") == "68102"


def test_a_town_named_like_a_word_is_read_as_a_town_when_the_bot_asked_where(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "shelter", "awaiting": "place"}, "Hope", "nlu_fallback")
    messages, events = run(ActionRouteFallback(), tracker, domain)
    assert slot(events, "place") == "Hope, AR"


def test_a_place_that_does_not_exist_is_asked_again_kindly(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "shelter"}, "im in mordor", "inform_place")
    messages, events = run(ActionFindHelp(), tracker, domain)
    assert responses(messages) == ["utter_place_not_found"] and slot(events, "awaiting") == "place"


def test_more_pages_through_results_and_then_says_that_is_all(directory_db, domain, tracker_factory, monkeypatch):
    monkeypatch.setattr(find_help, "PAGE_SIZE", 1)
    first, events = run(ActionFindHelp(), tracker_factory({"service_kind": "shelter", "place": "Boise, ID"},
                                                          "shelter in boise", "need_shelter"), domain)
    assert "Foothills Quiet House" in texts(first) and "Table Rock" not in texts(first)
    assert "utter_offer_more" in responses(first) and slot(events, "awaiting") == "more"
    offset = slot(events, "results_offset")
    more, events = run(ActionMoreResults(), tracker_factory(
        {"service_kind": "shelter", "place": "Boise, ID", "results_offset": offset}, "more", "more_results"), domain)
    assert "Table Rock Family Shelter" in texts(more) and "Foothills" not in texts(more)
    end, _ = run(ActionMoreResults(), tracker_factory(
        {"service_kind": "shelter", "place": "Boise, ID", "results_offset": slot(events, "results_offset")},
        "more", "more_results"), domain)
    assert "utter_no_more_results" in responses(end) and "Old Boise Shelter" not in texts(end)


def test_yes_to_want_more_shows_more_and_no_asks_what_else(directory_db, domain, tracker_factory, monkeypatch):
    monkeypatch.setattr(find_help, "PAGE_SIZE", 1)
    slots = {"service_kind": "shelter", "place": "Boise, ID", "results_offset": 1, "awaiting": "more"}
    yes, _ = run(ActionRouteYesNo(), tracker_factory(slots, "yes", "affirm"), domain)
    assert "Table Rock Family Shelter" in texts(yes)
    no, events = run(ActionRouteYesNo(), tracker_factory(slots, "no", "deny"), domain)
    assert responses(no) == ["utter_anything_else"]


def test_no_to_the_place_question_goes_on_without_a_place(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "legal", "awaiting": "place"}, "no", "deny")
    messages, _ = run(ActionRouteYesNo(), tracker, domain)
    assert "1-888-373-7888" in texts(messages)


def test_no_when_nothing_was_asked_just_stays_there(domain, tracker_factory):
    messages, _ = run(ActionRouteYesNo(), tracker_factory({}, "no", "deny"), domain)
    assert responses(messages) == ["utter_still_here"]


def test_something_else_asks_the_kind_and_keeps_the_place(domain, tracker_factory):
    messages, events = run(ActionAskKind(), tracker_factory({"place": "Omaha, NE", "service_kind": "shelter"},
                                                            "something else", "something_else"), domain)
    assert responses(messages) == ["utter_ask_kind"]
    assert "place" not in [e.get("name") for e in events]


def test_changing_the_kind_keeps_the_place(directory_db, domain, tracker_factory):
    # After shelter in Omaha, "actually i need a lawyer" sets the kind slot to legal (from_intent).
    tracker = tracker_factory({"service_kind": "legal", "place": "Omaha, NE", "results_offset": 1, "page_start": 0},
                              "actually i need a lawyer", "need_legal")
    messages, _ = run(ActionFindHelp(), tracker, domain)
    assert "Old Market Survivor Law" in texts(messages)


def test_hours_are_those_of_the_services_just_shown(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "legal", "place": "Omaha, NE", "page_start": 0},
                              "what are the hours", "ask_hours")
    messages, _ = run(ActionAnswerHours(), tracker, domain)
    assert "Old Market Survivor Law: Weekdays 9 to 5" in texts(messages)


def test_hours_before_any_results_say_to_call(directory_db, domain, tracker_factory):
    messages, _ = run(ActionAnswerHours(), tracker_factory({}, "are they open now", "ask_hours"), domain)
    assert responses(messages) == ["utter_hours_call"]


# --- Same-named towns ------------------------------------------------------------------------

def test_a_shared_town_name_is_the_one_near_the_directorys_services(directory_db):
    with session_scope() as session:
        where = where_to_search(session, "Bellevue", "shelter")  # Bellevue, WA is larger
        assert where.label == "Bellevue, NE"
        assert [t.label for t in where.others] == ["Bellevue, WA"]


def test_with_no_services_near_any_the_most_populous_is_used_and_the_others_offered(directory_db):
    with session_scope() as session:
        where = where_to_search(session, "Springfield", "legal")
    assert where.label == "Springfield, MO"
    assert [t.label for t in where.others] == ["Springfield, MA", "Springfield, IL", "Springfield, OR"]


def test_towns_of_one_name_in_one_metro_or_far_smaller_are_not_offered(directory_db):
    with session_scope() as session:
        assert where_to_search(session, "Kansas City", "shelter").others == []  # KS is across the river
        assert where_to_search(session, "Portland", "shelter").others == []  # Portland, ME is a tenth the size
        assert where_to_search(session, "68102", "shelter").label == "68102"
        assert where_to_search(session, "Nebraska", "shelter").label == "Nebraska"
        assert where_to_search(session, "Mordor", "shelter") is None


def test_results_for_a_shared_name_come_at_once_with_the_other_towns_as_buttons(directory_db, domain,
                                                                                  tracker_factory):
    tracker = tracker_factory({"service_kind": "shelter", "place": "Bellevue"}, "shelter in bellevue",
                              "need_shelter", place_entity("Bellevue"))
    messages, events = run(ActionFindHelp(), tracker, domain)
    assert "Riverfront Refuge Omaha" in texts(messages)
    (offer,) = [m for m in messages if m.get("response") == "utter_other_towns"]
    assert offer["town"] == "Bellevue" and [b["payload"] for b in offer["buttons"]] == ["Bellevue, WA"]
    assert slot(events, "place") == "Bellevue, NE"


@pytest.mark.parametrize("kind, expected", [("mental_health", "Blackstone Counseling Center"),
                                            ("substance_use", "Missouri Bend Recovery")])
def test_a_neighbouring_town_finds_the_services_of_the_city_next_door(directory_db, domain, tracker_factory,
                                                                       kind, expected):
    tracker = tracker_factory({"service_kind": kind, "place": "Council Bluffs, IA"}, "council bluffs",
                              "inform_place", place_entity("Council Bluffs, IA"))
    messages, _ = run(ActionFindHelp(), tracker, domain)
    assert expected in texts(messages)


def test_a_message_near_an_emergency_names_911_and_988_once(domain, tracker_factory):
    near = [{"entity": "safety_check", "value": "danger", "start": 0, "end": 10}]
    first, events = run(ActionNotices(), tracker_factory({"intro_given": True}, "he took my key card", "need_shelter",
                                                         near), domain)
    assert responses(first) == ["utter_safety_check"] and slot(events, "safety_check_given") is True
    assert "911" in domain["responses"]["utter_safety_check"][0]["text"]
    again, _ = run(ActionNotices(), tracker_factory({"intro_given": True, "safety_check_given": True}, "more",
                                                    "more_results", near), domain)
    assert again == []
    calm, _ = run(ActionNotices(), tracker_factory({"intro_given": True}, "shelter in boise", "need_shelter"), domain)
    assert calm == []
