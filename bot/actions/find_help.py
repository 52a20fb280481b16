"""Actions that find help: ask only what is missing (kind of help, place), then show the nearest
services from the directory, a page at a time, or the national 24/7 lines when there are none.

The dialogue keeps no path of its own: every turn one rule runs one of these actions, which read
what the conversation holds so far from slots (the kind of help, the place, what the bot asked
last) and decide. So a person may change the kind or the place at any point, skip the place, ask
for more, or ask something else first, and the next request still gets what it needs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.actions.response_parts import DomainDict, kind_name, phrase
from bot.actions.where import Where, where_to_search
from bot.dialogue import (
    ACTION_ANSWER_HOURS,
    ACTION_ASK_KIND,
    ACTION_FIND_HELP,
    ACTION_MORE_RESULTS,
    AWAITING_KIND,
    AWAITING_MORE,
    AWAITING_PLACE,
    ENTITY_PLACE,
    INTENT_INFORM_PLACE,
    INTENT_SKIP_PLACE,
    KIND_INTENTS,
    SLOT_AWAITING,
    SLOT_PAGE_START,
    SLOT_PLACE,
    SLOT_PLACE_DECLINED,
    SLOT_RESULTS_OFFSET,
    SLOT_SERVICE_KIND,
    UTTER_ASK_KIND,
    UTTER_ASK_PLACE,
    UTTER_HOURS_CALL,
    UTTER_NO_MORE_RESULTS,
    UTTER_NO_PLACE_LINES,
    UTTER_OFFER_MORE,
    UTTER_OTHER_TOWNS,
    UTTER_PART_DEMO_LISTING,
    UTTER_PART_HOURS_HEADER,
    UTTER_PART_HOURS_UNKNOWN,
    UTTER_PART_RESULTS_HEADER,
    UTTER_PART_SERVICE,
    UTTER_PART_SERVICE_HOURS,
    UTTER_PART_SERVICE_NO_PHONE,
    UTTER_PLACE_NOT_FOUND,
    UTTER_RESULTS_NONE_NEARBY,
    UTTER_SERVICE_TROUBLE,
    utter_part_lines,
)
from infra.db import session_scope
from resources.places.gazetteer import gazetteer
from resources.places.geocode import geocode
from resources.search.nearby import search_services

gazetteer()  # load the place tables when the action server starts, not on a survivor's first search
logger = logging.getLogger(__name__)

PAGE_SIZE = 3
KM_PER_MILE = 1.609344
# The directory's database cannot be reached or read (down, refused, its pool exhausted).
DIRECTORY_UNREACHABLE = (DBAPIError, PoolTimeout)


def latest_intent(tracker: Tracker) -> Optional[Text]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def place_in_message(tracker: Tracker) -> Optional[Text]:
    """The place the latest message names (the place recogniser's entity), if any."""
    return next(tracker.get_latest_entity_values(ENTITY_PLACE), None)


@dataclass
class Page:
    """One page of a search: where it looked, its services (nearest first), whether more follow."""

    where: Where
    services: List[Any]
    has_more: bool


def search_page(kind: Text, place_value: Text, offset: int) -> Optional[Page]:
    """The page of services of `kind` near the place the person named that starts at `offset`;
    None when `place_value` names no known place. The one search behind a page of results and
    "what are the hours?", so both name the same services. Raises DIRECTORY_UNREACHABLE's errors."""
    with session_scope() as session:
        where = where_to_search(session, place_value, kind)
        if where is None:
            return None
        results = search_services(session, kind, where.place, limit=PAGE_SIZE + 1, offset=offset)
    return Page(where, results[:PAGE_SIZE], len(results) > PAGE_SIZE)


def show_results(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, kind: Text,
                 place_value: Text, offset: int = 0) -> List[EventType]:
    """One page of services of `kind` near the place the person named, nearest first; the
    national lines when there are none; other same-named towns offered after a first page."""
    try:
        page = search_page(kind, place_value, offset)
    except DIRECTORY_UNREACHABLE as error:
        return directory_unreachable(dispatcher, error)
    if page is None:
        dispatcher.utter_message(response=UTTER_PLACE_NOT_FOUND)
        return [SlotSet(SLOT_PLACE, None), SlotSet(SLOT_AWAITING, AWAITING_PLACE)]
    where = page.where
    events: List[EventType] = [SlotSet(SLOT_PLACE, where.label)] if where.label != place_value else []
    return events + _say_page(dispatcher, tracker, domain, kind, page, offset)


def directory_unreachable(dispatcher: CollectingDispatcher, error: Exception) -> List[EventType]:
    """The directory cannot be read: the 24/7 lines now. The slots stay as they are, so the same
    message sent again gets the results once the directory is back."""
    logger.error("the directory could not be read: %s", type(error).__name__)  # its text holds the query's values
    dispatcher.utter_message(response=UTTER_SERVICE_TROUBLE)
    return []


def _say_page(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, kind: Text, found: Page,
              offset: int) -> List[EventType]:
    where, page, has_more = found.where, found.services, found.has_more
    if not page:
        if offset:
            dispatcher.utter_message(response=UTTER_NO_MORE_RESULTS, place=where.label)
            return [SlotSet(SLOT_AWAITING, AWAITING_KIND)]
        dispatcher.utter_message(response=UTTER_RESULTS_NONE_NEARBY,
                                 kind_name=kind_name(domain, kind, tracker), place=where.label)
        dispatcher.utter_message(text=phrase(domain, utter_part_lines(kind), tracker=tracker))
        return [SlotSet(SLOT_AWAITING, AWAITING_KIND), SlotSet(SLOT_RESULTS_OFFSET, 0), SlotSet(SLOT_PAGE_START, None)]
    # One message per service (each fits one SMS), the first under the header.
    header = phrase(domain, UTTER_PART_RESULTS_HEADER, tracker=tracker, kind_name=kind_name(domain, kind, tracker),
                    place=where.label)
    for number, result in enumerate(page, start=offset + 1):
        text = service_text(domain, tracker, number, result)
        dispatcher.utter_message(text=f"{header}\n\n{text}" if number == offset + 1 else text)
    if where.others and not offset:
        dispatcher.utter_message(response=UTTER_OTHER_TOWNS, town=where.place.name,
                                 buttons=[{"title": town.label, "payload": town.label} for town in where.others])
    events: List[EventType] = [SlotSet(SLOT_RESULTS_OFFSET, offset + len(page)), SlotSet(SLOT_PAGE_START, offset)]
    if has_more:
        dispatcher.utter_message(response=UTTER_OFFER_MORE)
        return events + [SlotSet(SLOT_AWAITING, AWAITING_MORE)]
    dispatcher.utter_message(response=UTTER_NO_MORE_RESULTS, place=where.label)
    return events + [SlotSet(SLOT_AWAITING, AWAITING_KIND)]


def service_text(domain: DomainDict, tracker: Tracker, number: int, result: Any) -> Text:
    """One service as the survivor reads it: name, phone, distance, hours (and a demo mark)."""
    hours = result.hours or phrase(domain, UTTER_PART_HOURS_UNKNOWN, tracker=tracker)
    miles = f"{result.distance_km / KM_PER_MILE:.1f}"
    response = UTTER_PART_SERVICE if result.phone else UTTER_PART_SERVICE_NO_PHONE
    text = phrase(domain, response, tracker=tracker, number=number, name=result.name, phone=result.phone,
                  distance=miles, hours=hours)
    if result.is_demo:
        text += " " + phrase(domain, UTTER_PART_DEMO_LISTING, tracker=tracker)
    return text


def national_lines(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, kind: Text) -> None:
    dispatcher.utter_message(response=UTTER_NO_PLACE_LINES)
    dispatcher.utter_message(text=phrase(domain, utter_part_lines(kind), tracker=tracker))


def answer_request(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, kind: Optional[Text],
                   place: Optional[Text], declined: bool) -> List[EventType]:
    """Answer a request for help of `kind` near `place` (or with the place declined): ask what
    is missing, else the national lines or results. The values are passed, not read from the
    tracker's slots, so an action that has just settled one (the place, "skip") answers with it;
    `tracker` only chooses the words (language, channel)."""
    if not kind:
        dispatcher.utter_message(response=UTTER_ASK_KIND)
        return [SlotSet(SLOT_AWAITING, AWAITING_KIND)]
    if declined:
        national_lines(dispatcher, tracker, domain, kind)
        return [SlotSet(SLOT_AWAITING, AWAITING_KIND), SlotSet(SLOT_PAGE_START, None)]
    if not place:
        dispatcher.utter_message(response=UTTER_ASK_PLACE)
        return [SlotSet(SLOT_AWAITING, AWAITING_PLACE)]
    return show_results(dispatcher, tracker, domain, kind, place, offset=0)


def skip_place(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
    """Go on without a place ("skip", or "no" to "where?"): the national lines for the kind asked."""
    return ([SlotSet(SLOT_PLACE, None), SlotSet(SLOT_PLACE_DECLINED, True)]
            + answer_request(dispatcher, tracker, domain, tracker.get_slot(SLOT_SERVICE_KIND), None, True))


def use_place(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, place: Text) -> List[EventType]:
    """Answer with `place`, just found in a message the bot did not otherwise understand."""
    return ([SlotSet(SLOT_PLACE, place), SlotSet(SLOT_PLACE_DECLINED, False)]
            + answer_request(dispatcher, tracker, domain, tracker.get_slot(SLOT_SERVICE_KIND), place, False))


class ActionFindHelp(Action):
    """Answer a request for help with whatever is still missing: the kind, the place, or results."""

    def name(self) -> Text:
        return ACTION_FIND_HELP

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = []
        kind = tracker.get_slot(SLOT_SERVICE_KIND)
        place = tracker.get_slot(SLOT_PLACE)
        declined = bool(tracker.get_slot(SLOT_PLACE_DECLINED))
        intent = latest_intent(tracker)
        if intent == INTENT_SKIP_PLACE:
            return skip_place(dispatcher, tracker, domain)
        if place_in_message(tracker):
            declined = False
            events.append(SlotSet(SLOT_PLACE_DECLINED, False))
        elif (intent == INTENT_INFORM_PLACE
              or tracker.get_slot(SLOT_AWAITING) == AWAITING_PLACE and intent not in KIND_INTENTS):
            # A place the recogniser did not tag: try the geocoder on the whole text.
            found = geocode(tracker.latest_message.get("text") or "")
            if found:
                place, declined = found.label, False
                events += [SlotSet(SLOT_PLACE, place), SlotSet(SLOT_PLACE_DECLINED, False)]
            elif intent == INTENT_INFORM_PLACE:
                dispatcher.utter_message(response=UTTER_PLACE_NOT_FOUND)
                return events + [SlotSet(SLOT_AWAITING, AWAITING_PLACE)]
        return events + answer_request(dispatcher, tracker, domain, kind, place, declined)


class ActionMoreResults(Action):
    """The next page of the last search."""

    def name(self) -> Text:
        return ACTION_MORE_RESULTS

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kind, place = tracker.get_slot(SLOT_SERVICE_KIND), tracker.get_slot(SLOT_PLACE)
        if not kind or not place or tracker.get_slot(SLOT_PLACE_DECLINED):
            return ActionFindHelp().run(dispatcher, tracker, domain)
        offset = int(tracker.get_slot(SLOT_RESULTS_OFFSET) or 0)
        return show_results(dispatcher, tracker, domain, kind, place, offset=offset)


class ActionAskKind(Action):
    """Ask which kind of help, keeping the place already given."""

    def name(self) -> Text:
        return ACTION_ASK_KIND

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response=UTTER_ASK_KIND)
        return [SlotSet(SLOT_AWAITING, AWAITING_KIND), SlotSet(SLOT_RESULTS_OFFSET, 0)]


class ActionAnswerHours(Action):
    """"What are the hours?": the hours of the services just shown (the same search as that
    page, search_page), else how to find them out."""

    def name(self) -> Text:
        return ACTION_ANSWER_HOURS

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kind, place, start = (tracker.get_slot(name) for name in (SLOT_SERVICE_KIND, SLOT_PLACE, SLOT_PAGE_START))
        results: List[Any] = []
        if kind and place and start is not None:
            try:
                page = search_page(kind, place, int(start))
            except DIRECTORY_UNREACHABLE as error:
                return directory_unreachable(dispatcher, error)
            results = page.services if page is not None else []
        if not results:
            dispatcher.utter_message(response=UTTER_HOURS_CALL)
            return []
        unknown = phrase(domain, UTTER_PART_HOURS_UNKNOWN, tracker=tracker)
        lines = [phrase(domain, UTTER_PART_HOURS_HEADER, tracker=tracker)]
        lines += [phrase(domain, UTTER_PART_SERVICE_HOURS, tracker=tracker, number=number, name=result.name,
                         hours=result.hours or unknown)
                  for number, result in enumerate(results, start=int(start) + 1)]
        dispatcher.utter_message(text="\n".join(lines))
        return []
