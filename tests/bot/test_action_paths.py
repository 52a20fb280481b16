"""One path per answer: "what are the hours?" runs the very search that showed the page, and an
action that answers with another's logic passes it values, never a tracker built or copied by
hand (a forged tracker drifts from what Rasa sends: its slots, its latest message)."""
from __future__ import annotations

import re

from rasa_sdk.executor import CollectingDispatcher

from bot.actions import find_help
from bot.actions.find_help import ActionAnswerHours, ActionFindHelp
from bot.actions.routing import ActionRouteFallback, ActionRouteYesNo
from infra.config import ROOT


def run(action, tracker, domain):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain)
    return dispatcher.messages, events


def slot(events, name):
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    return values[-1] if values else None


def recording_searches(monkeypatch):
    calls = []
    search = find_help.search_page

    def recorded(kind, place, offset):
        calls.append((kind, place, offset))
        return search(kind, place, offset)

    monkeypatch.setattr(find_help, "search_page", recorded)
    return calls


def test_the_hours_name_the_services_of_the_page_shown_in_its_order(directory_db, domain, tracker_factory,
                                                                   monkeypatch):
    calls = recording_searches(monkeypatch)
    slots = {"service_kind": "shelter", "place": "Boise, ID"}
    shown, events = run(ActionFindHelp(), tracker_factory(slots, "shelter in boise", "need_shelter"), domain)
    hours, _ = run(ActionAnswerHours(), tracker_factory({**slots, "page_start": slot(events, "page_start")},
                                                        "what are the hours", "ask_hours"), domain)
    assert calls == [("shelter", "Boise, ID", 0), ("shelter", "Boise, ID", 0)]
    page_names = re.findall(r"^\d+\. (.+)$", "\n".join(m.get("text") or "" for m in shown), re.M)
    hour_names = re.findall(r"^\d+\. (.+?): ", hours[0]["text"], re.M)
    assert len(page_names) > 1 and hour_names == page_names


class NoCopies:
    """A tracker that cannot be copied: an action that forges one fails."""

    def __init__(self, tracker):
        self._tracker = tracker

    def copy(self):
        raise AssertionError("an action copied the tracker")

    def __getattr__(self, name):
        return getattr(self._tracker, name)


def test_no_to_where_goes_on_without_a_place_with_the_tracker_as_sent(directory_db, domain, tracker_factory):
    tracker = NoCopies(tracker_factory({"service_kind": "legal", "awaiting": "place"}, "no", "deny"))
    messages, events = run(ActionRouteYesNo(), tracker, domain)
    assert [m.get("response") for m in messages][:1] == ["utter_no_place_lines"]
    assert slot(events, "place_declined") is True and slot(events, "awaiting") == "kind"


def test_a_place_found_in_a_fallback_is_searched_with_the_tracker_as_sent(directory_db, domain, tracker_factory):
    tracker = NoCopies(tracker_factory({"service_kind": "shelter", "awaiting": "place"},
                                       "somewhere around 68102 i think", "nlu_fallback"))
    messages, events = run(ActionRouteFallback(), tracker, domain)
    assert "Riverfront Refuge Omaha" in "\n".join(m.get("text") or "" for m in messages)
    assert slot(events, "place") == "68102" and slot(events, "place_declined") is False


def test_no_action_builds_or_copies_a_tracker():
    for path in sorted((ROOT / "bot" / "actions").glob("*.py")):
        source = path.read_text()
        assert not re.search(r"\b(DialogueStateTracker|Tracker)\(|\.copy\(\)", source), path.name
