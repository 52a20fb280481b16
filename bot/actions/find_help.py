"""Actions that find help: ask only what is missing (kind of help, place), then show the nearest
services from the directory, a page at a time, or the national 24/7 lines when there are none.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.phrasing import DomainDict, kind_name, phrase
from navigator.db import session_scope
from resources.gazetteer import gazetteer
from resources.geocode import geocode
from resources.search import search_services

gazetteer()  # load the place tables when the action server starts, not on a survivor's first search

PAGE_SIZE = 3
KM_PER_MILE = 1.609344
# Responses after which the person has already heard that this is an automated helper.
INTRO_RESPONSES = {"utter_greet", "utter_intro", "utter_iamabot", "utter_not_police"}


def intro_needed(tracker: Tracker) -> bool:
    """True until the person has been told, once, that this is automated and not police."""
    if tracker.get_slot("intro_given"):
        return False
    return not any(e.get("event") == "action" and e.get("name") in INTRO_RESPONSES for e in tracker.events)


def latest_intent(tracker: Tracker) -> Optional[Text]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def show_page(dispatcher: CollectingDispatcher, domain: DomainDict, kind: Text, place_label: Text,
              offset: int) -> List[EventType]:
    """Send one page of services of `kind` near `place_label`; the national lines if none."""
    place = geocode(place_label)
    with session_scope() as session:
        results = search_services(session, kind, place, limit=PAGE_SIZE + 1, offset=offset) if place else []
    page, has_more = results[:PAGE_SIZE], len(results) > PAGE_SIZE
    if not page:
        if offset:
            dispatcher.utter_message(response="utter_no_more_results", place=place_label)
            return [SlotSet("awaiting", "kind")]
        dispatcher.utter_message(response="utter_results_none_nearby",
                                 kind_name=kind_name(domain, kind), place=place_label)
        dispatcher.utter_message(text=phrase(domain, f"utter_part_lines_{kind}"))
        return [SlotSet("awaiting", "kind"), SlotSet("results_offset", 0)]
    lines = [phrase(domain, "utter_part_results_header", kind_name=kind_name(domain, kind), place=place_label)]
    for number, result in enumerate(page, start=offset + 1):
        lines.append(service_text(domain, number, result))
    dispatcher.utter_message(text="\n\n".join(lines))
    if has_more:
        dispatcher.utter_message(response="utter_offer_more")
        return [SlotSet("awaiting", "more"), SlotSet("results_offset", offset + len(page))]
    dispatcher.utter_message(response="utter_no_more_results", place=place_label)
    return [SlotSet("awaiting", "kind"), SlotSet("results_offset", offset + len(page))]


def service_text(domain: DomainDict, number: int, result: Any) -> Text:
    """One service as the survivor reads it: name, phone, distance, hours (and a demo mark)."""
    hours = result.hours or phrase(domain, "utter_part_hours_unknown")
    miles = f"{result.distance_km / KM_PER_MILE:.1f}"
    response = "utter_part_service" if result.phone else "utter_part_service_no_phone"
    text = phrase(domain, response, number=number, name=result.name, phone=result.phone,
                  distance=miles, hours=hours)
    if result.is_demo:
        text += " " + phrase(domain, "utter_part_demo_listing")
    return text


class ActionFindHelp(Action):
    """Answer a request for help with whatever is still missing: the kind, the place, or results."""

    def name(self) -> Text:
        return "action_find_help"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = []
        if intro_needed(tracker):
            dispatcher.utter_message(response="utter_intro")
            events.append(SlotSet("intro_given", True))
        kind = tracker.get_slot("service_kind")
        place = tracker.get_slot("place")
        declined = bool(tracker.get_slot("place_declined"))
        intent = latest_intent(tracker)
        if intent == "skip_place":
            place, declined = None, True
            events += [SlotSet("place", None), SlotSet("place_declined", True)]
        elif place:
            declined = False
            events.append(SlotSet("place_declined", False))
        elif intent == "inform_place" or tracker.get_slot("awaiting") == "place" and intent not in KIND_INTENTS:
            # A place the recogniser did not tag ("omha ne"): try the geocoder on the whole text.
            found = geocode(tracker.latest_message.get("text") or "")
            if found:
                place = found.label
                events.append(SlotSet("place", place))
            elif intent == "inform_place":
                dispatcher.utter_message(response="utter_place_not_found")
                return events + [SlotSet("awaiting", "place")]

        if not kind:
            dispatcher.utter_message(response="utter_ask_kind")
            return events + [SlotSet("awaiting", "kind")]
        if declined:
            dispatcher.utter_message(response="utter_no_place_lines")
            dispatcher.utter_message(text=phrase(domain, f"utter_part_lines_{kind}"))
            return events + [SlotSet("awaiting", "kind")]
        if not place:
            dispatcher.utter_message(response="utter_ask_place")
            return events + [SlotSet("awaiting", "place")]
        return events + show_page(dispatcher, domain, kind, place, offset=0)


KIND_INTENTS = {"need_shelter", "need_mental_health", "need_substance_use", "need_legal"}


class ActionMoreResults(Action):
    """The next page of the last search."""

    def name(self) -> Text:
        return "action_more_results"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kind, place = tracker.get_slot("service_kind"), tracker.get_slot("place")
        if not kind or not place:
            return ActionFindHelp().run(dispatcher, tracker, domain)
        offset = int(tracker.get_slot("results_offset") or 0)
        return show_page(dispatcher, domain, kind, place, offset=offset)


class ActionAskKind(Action):
    """Ask which kind of help, keeping the place already given."""

    def name(self) -> Text:
        return "action_ask_kind"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = []
        if intro_needed(tracker):
            dispatcher.utter_message(response="utter_intro")
            events.append(SlotSet("intro_given", True))
        dispatcher.utter_message(response="utter_ask_kind")
        return events + [SlotSet("awaiting", "kind"), SlotSet("results_offset", 0)]


class ActionRouteYesNo(Action):
    """Read a bare yes or no as the answer to what the bot asked last."""

    def name(self) -> Text:
        return "action_route_yes_no"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        yes = latest_intent(tracker) == "affirm"
        awaiting = tracker.get_slot("awaiting")
        if awaiting == "more":
            if yes:
                return ActionMoreResults().run(dispatcher, tracker, domain)
            dispatcher.utter_message(response="utter_anything_else")
            return [SlotSet("awaiting", "kind")]
        if awaiting == "place":
            if yes:
                dispatcher.utter_message(response="utter_ask_place")
                return []
            return ActionFindHelp().run(dispatcher, _as_skip(tracker), domain)
        if awaiting == "advocate" and not yes:
            dispatcher.utter_message(response="utter_handoff_declined")
            return [SlotSet("awaiting", None)]
        if yes:
            dispatcher.utter_message(response="utter_ask_kind")
            return [SlotSet("awaiting", "kind")]
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("awaiting", None)]


class ActionRouteFallback(Action):
    """A message the bot did not understand: perhaps the place it asked for, else say so kindly."""

    def name(self) -> Text:
        return "action_route_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if tracker.get_slot("awaiting") == "place" or _place_entity(tracker):
            found = _place_entity(tracker) or geocode(tracker.latest_message.get("text") or "")
            if found:
                label = found if isinstance(found, str) else found.label
                return [SlotSet("place", label)] + ActionFindHelp().run(
                    dispatcher, _with_place(tracker, label), domain)
            dispatcher.utter_message(response="utter_place_not_found")
            return []
        dispatcher.utter_message(response="utter_default")
        return [SlotSet("awaiting", "kind")]


def _place_entity(tracker: Tracker) -> Optional[Text]:
    return next(tracker.get_latest_entity_values("place"), None)


def _with_place(tracker: Tracker, label: Text) -> Tracker:
    """A copy of the tracker whose `place` slot holds `label` (for chaining actions in one turn)."""
    copy = tracker.copy()
    copy.slots = {**tracker.slots, "place": label}
    return copy


def _as_skip(tracker: Tracker) -> Tracker:
    copy = tracker.copy()
    copy.latest_message = {**tracker.latest_message, "intent": {"name": "skip_place", "confidence": 1.0}}
    return copy
