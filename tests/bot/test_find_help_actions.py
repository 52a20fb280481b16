"""The find-help actions, run on a tracker against a directory holding the shared sample."""
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.find_help import ActionFindHelp, ActionMoreResults, ActionRouteFallback, ActionRouteYesNo


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


def test_kind_and_place_give_the_nearest_active_services(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "shelter", "place": "Boise, ID"}, "I need a shelter in Boise",
                              "need_shelter")
    messages, events = run(ActionFindHelp(), tracker, domain)
    shown = texts(messages)
    assert shown.index("Foothills Quiet House") < shown.index("Table Rock Family Shelter")  # nearest first
    assert "Old Boise Shelter" not in shown  # inactive
    assert "(555) 0100-1000" in shown
    assert "miles away" in shown
    assert "Omaha" not in shown


def test_the_first_reply_says_once_that_it_is_automated(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "legal", "place": "Omaha, NE"}, "free legal help in omaha",
                              "need_legal")
    messages, events = run(ActionFindHelp(), tracker, domain)
    assert responses(messages)[0] == "utter_intro"
    assert "Old Market Survivor Law" in texts(messages)
    assert slot(events, "intro_given") is True
    again, _ = run(ActionFindHelp(), tracker_factory({"service_kind": "legal", "place": "Omaha, NE",
                                                      "intro_given": True}, "legal help", "need_legal"), domain)
    assert "utter_intro" not in responses(again)


def test_a_kind_without_a_place_asks_where(directory_db, domain, tracker_factory):
    messages, events = run(ActionFindHelp(), tracker_factory({"service_kind": "substance_use", "intro_given": True},
                                                             "I need help with drugs", "need_substance_use"), domain)
    assert responses(messages) == ["utter_ask_place"]
    assert slot(events, "awaiting") == "place"


def test_a_place_without_a_kind_asks_what_kind(directory_db, domain, tracker_factory):
    messages, _ = run(ActionFindHelp(), tracker_factory({"place": "Omaha, NE", "intro_given": True}, "Omaha, NE",
                                                        "inform_place"), domain)
    assert responses(messages) == ["utter_ask_kind"]


def test_skipping_the_place_gives_the_national_lines_for_that_kind(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "substance_use", "awaiting": "place", "intro_given": True}, "skip",
                              "skip_place")
    messages, events = run(ActionFindHelp(), tracker, domain)
    assert "1-800-662-4357" in texts(messages)  # SAMHSA
    assert slot(events, "place_declined") is True


def test_no_services_nearby_gives_the_national_lines(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "shelter", "place": "Miami, FL", "intro_given": True},
                              "shelter in miami", "need_shelter")
    messages, _ = run(ActionFindHelp(), tracker, domain)
    assert "1-800-799-7233" in texts(messages)
    assert "Foothills" not in texts(messages)


def test_an_untagged_place_the_bot_asked_for_is_geocoded_from_the_text(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "shelter", "awaiting": "place", "intro_given": True},
                              "somewhere around 68102 i think", None)
    messages, events = run(ActionRouteFallback(), tracker, domain)
    assert "Riverfront Refuge Omaha" in texts(messages)
    assert slot(events, "place") == "68102"


def test_more_pages_through_results_and_then_says_that_is_all(directory_db, domain, tracker_factory):
    first, events = run(ActionFindHelp(), tracker_factory(
        {"service_kind": "shelter", "place": "Boise, ID", "intro_given": True}, "shelter in boise", "need_shelter"),
        domain)
    offset = slot(events, "results_offset")
    assert offset == 2  # two active shelters in Boise; the inactive one is never counted
    more, _ = run(ActionMoreResults(), tracker_factory(
        {"service_kind": "shelter", "place": "Boise, ID", "results_offset": offset}, "more", "more_results"), domain)
    assert "Foothills Quiet House" not in texts(more)
    assert "utter_no_more_results" in responses(more)


def test_no_to_the_place_question_goes_on_without_a_place(directory_db, domain, tracker_factory):
    tracker = tracker_factory({"service_kind": "legal", "awaiting": "place", "intro_given": True}, "no", "deny")
    messages, _ = run(ActionRouteYesNo(), tracker, domain)
    assert "1-888-373-7888" in texts(messages)
