"""Actions that find help: ask only what is missing (kind of help, place), then show the nearest
services from the directory, a page at a time, or the national 24/7 lines when there are none.

The dialogue keeps no path of its own: every turn one rule runs one of these actions, which read
what the conversation holds so far from slots (the kind of help, the place, what the bot asked
last) and decide. So a person may change the kind or the place at any point, skip the place, ask
for more, or ask something else first, and the next request still gets what it needs.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.actions.response_parts import DomainDict, kind_name, phrase
from bot.actions.where import Where, where_to_search
from infra.db import session_scope
from resources.places.gazetteer import gazetteer
from resources.places.geocode import geocode
from resources.search.nearby import search_services

gazetteer()  # load the place tables when the action server starts, not on a survivor's first search
logger = logging.getLogger(__name__)

PAGE_SIZE = 3
KM_PER_MILE = 1.609344
KIND_INTENTS = {"need_shelter", "need_mental_health", "need_substance_use", "need_legal"}
# The directory's database cannot be reached or read (down, refused, its pool exhausted).
DIRECTORY_UNREACHABLE = (DBAPIError, PoolTimeout)
DIRECTORY_TROUBLE = "utter_service_trouble"


def latest_intent(tracker: Tracker) -> Optional[Text]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def place_in_message(tracker: Tracker) -> Optional[Text]:
    """The place the latest message names (the place recogniser's entity), if any."""
    return next(tracker.get_latest_entity_values("place"), None)


def show_results(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, kind: Text,
                 place_value: Text, offset: int = 0) -> List[EventType]:
    """One page of services of `kind` near the place the person named, nearest first; the
    national lines when there are none; other same-named towns offered after a first page."""
    try:
        with session_scope() as session:
            where = where_to_search(session, place_value, kind)
            if where is None:
                dispatcher.utter_message(response="utter_place_not_found")
                return [SlotSet("place", None), SlotSet("awaiting", "place")]
            results = search_services(session, kind, where.place, limit=PAGE_SIZE + 1, offset=offset)
    except DIRECTORY_UNREACHABLE as error:
        return directory_unreachable(dispatcher, error)
    events: List[EventType] = [SlotSet("place", where.label)] if where.label != place_value else []
    return events + _say_page(dispatcher, tracker, domain, kind, where, results, offset)


def directory_unreachable(dispatcher: CollectingDispatcher, error: Exception) -> List[EventType]:
    """The directory cannot be read: the 24/7 lines now. The slots stay as they are, so the same
    message sent again gets the results once the directory is back."""
    logger.error("the directory could not be read: %s", type(error).__name__)  # its text holds the query's values
    dispatcher.utter_message(response=DIRECTORY_TROUBLE)
    return []


def _say_page(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, kind: Text, where: Where,
              results: List[Any], offset: int) -> List[EventType]:
    page, has_more = results[:PAGE_SIZE], len(results) > PAGE_SIZE
    if not page:
        if offset:
            dispatcher.utter_message(response="utter_no_more_results", place=where.label)
            return [SlotSet("awaiting", "kind")]
        dispatcher.utter_message(response="utter_results_none_nearby",
                                 kind_name=kind_name(domain, kind, tracker), place=where.label)
        dispatcher.utter_message(text=phrase(domain, f"utter_part_lines_{kind}", tracker=tracker))
        return [SlotSet("awaiting", "kind"), SlotSet("results_offset", 0), SlotSet("page_start", None)]
    # One message per service (each fits one SMS), the first under the header.
    header = phrase(domain, "utter_part_results_header", tracker=tracker, kind_name=kind_name(domain, kind, tracker),
                    place=where.label)
    for number, result in enumerate(page, start=offset + 1):
        text = service_text(domain, tracker, number, result)
        dispatcher.utter_message(text=f"{header}\n\n{text}" if number == offset + 1 else text)
    if where.others and not offset:
        dispatcher.utter_message(response="utter_other_towns", town=where.place.name,
                                 buttons=[{"title": town.label, "payload": town.label} for town in where.others])
    events: List[EventType] = [SlotSet("results_offset", offset + len(page)), SlotSet("page_start", offset)]
    if has_more:
        dispatcher.utter_message(response="utter_offer_more")
        return events + [SlotSet("awaiting", "more")]
    dispatcher.utter_message(response="utter_no_more_results", place=where.label)
    return events + [SlotSet("awaiting", "kind")]


def service_text(domain: DomainDict, tracker: Tracker, number: int, result: Any) -> Text:
    """One service as the survivor reads it: name, phone, distance, hours (and a demo mark)."""
    hours = result.hours or phrase(domain, "utter_part_hours_unknown", tracker=tracker)
    miles = f"{result.distance_km / KM_PER_MILE:.1f}"
    response = "utter_part_service" if result.phone else "utter_part_service_no_phone"
    text = phrase(domain, response, tracker=tracker, number=number, name=result.name, phone=result.phone,
                  distance=miles, hours=hours)
    if result.is_demo:
        text += " " + phrase(domain, "utter_part_demo_listing", tracker=tracker)
    return text


def national_lines(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, kind: Text) -> None:
    dispatcher.utter_message(response="utter_no_place_lines")
    dispatcher.utter_message(text=phrase(domain, f"utter_part_lines_{kind}", tracker=tracker))


class ActionFindHelp(Action):
    """Answer a request for help with whatever is still missing: the kind, the place, or results."""

    def name(self) -> Text:
        return "action_find_help"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = []
        kind = tracker.get_slot("service_kind")
        place = tracker.get_slot("place")
        declined = bool(tracker.get_slot("place_declined"))
        intent = latest_intent(tracker)
        if intent == "skip_place":
            place, declined = None, True
            events += [SlotSet("place", None), SlotSet("place_declined", True)]
        elif place_in_message(tracker):
            declined = False
            events.append(SlotSet("place_declined", False))
        elif intent == "inform_place" or tracker.get_slot("awaiting") == "place" and intent not in KIND_INTENTS:
            # A place the recogniser did not tag: try the geocoder on the whole text.
            found = geocode(tracker.latest_message.get("text") or "")
            if found:
                place, declined = found.label, False
                events += [SlotSet("place", place), SlotSet("place_declined", False)]
            elif intent == "inform_place":
                dispatcher.utter_message(response="utter_place_not_found")
                return events + [SlotSet("awaiting", "place")]

        if not kind:
            dispatcher.utter_message(response="utter_ask_kind")
            return events + [SlotSet("awaiting", "kind")]
        if declined:
            national_lines(dispatcher, tracker, domain, kind)
            return events + [SlotSet("awaiting", "kind"), SlotSet("page_start", None)]
        if not place:
            dispatcher.utter_message(response="utter_ask_place")
            return events + [SlotSet("awaiting", "place")]
        return events + show_results(dispatcher, tracker, domain, kind, place, offset=0)


class ActionMoreResults(Action):
    """The next page of the last search."""

    def name(self) -> Text:
        return "action_more_results"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kind, place = tracker.get_slot("service_kind"), tracker.get_slot("place")
        if not kind or not place or tracker.get_slot("place_declined"):
            return ActionFindHelp().run(dispatcher, tracker, domain)
        offset = int(tracker.get_slot("results_offset") or 0)
        return show_results(dispatcher, tracker, domain, kind, place, offset=offset)


class ActionAskKind(Action):
    """Ask which kind of help, keeping the place already given."""

    def name(self) -> Text:
        return "action_ask_kind"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_ask_kind")
        return [SlotSet("awaiting", "kind"), SlotSet("results_offset", 0)]


class ActionAnswerHours(Action):
    """"What are the hours?": the hours of the services just shown, else how to find them out."""

    def name(self) -> Text:
        return "action_answer_hours"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kind, place, start = (tracker.get_slot(name) for name in ("service_kind", "place", "page_start"))
        results: List[Any] = []
        if kind and place and start is not None:
            try:
                with session_scope() as session:
                    where = where_to_search(session, place, kind)
                    if where is not None:
                        results = search_services(session, kind, where.place, limit=PAGE_SIZE, offset=int(start))
            except DIRECTORY_UNREACHABLE as error:
                return directory_unreachable(dispatcher, error)
        if not results:
            dispatcher.utter_message(response="utter_hours_call")
            return []
        unknown = phrase(domain, "utter_part_hours_unknown", tracker=tracker)
        lines = [phrase(domain, "utter_part_hours_header", tracker=tracker)]
        lines += [phrase(domain, "utter_part_service_hours", tracker=tracker, number=number, name=result.name,
                         hours=result.hours or unknown)
                  for number, result in enumerate(results, start=int(start) + 1)]
        dispatcher.utter_message(text="\n".join(lines))
        return []
