"""Answers read against what the bot asked last (the `awaiting` slot): a bare yes or no, or a
message the bot did not understand, which may be the place it asked for.

While an advocate is on the way (`awaiting` "advocate"), nothing but a clear "No advocate"
(bot.actions.handoff.ActionDeclineAdvocate) cancels them: "no", "no i cant talk" or words the bot
does not understand keep the handoff open, and the survivor hears that they need not talk.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.find_help import ActionMoreResults, latest_intent, place_in_message, skip_place, use_place
from bot.actions.handoff import ActionAdvocateStatus, still_asked
from bot.dialogue import (
    ACTION_ROUTE_FALLBACK,
    ACTION_ROUTE_YES_NO,
    AWAITING_ADVOCATE,
    AWAITING_KIND,
    AWAITING_MORE,
    AWAITING_PLACE,
    INTENT_AFFIRM,
    SLOT_AWAITING,
    UTTER_ANYTHING_ELSE,
    UTTER_ASK_KIND,
    UTTER_ASK_PLACE,
    UTTER_DEFAULT,
    UTTER_PLACE_NOT_FOUND,
    UTTER_STILL_HERE,
)
from resources.places.geocode import geocode


class ActionRouteYesNo(Action):
    """Read a bare yes or no as the answer to what the bot asked last."""

    def name(self) -> Text:
        return ACTION_ROUTE_YES_NO

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        yes = latest_intent(tracker) == INTENT_AFFIRM
        awaiting = tracker.get_slot(SLOT_AWAITING)
        if awaiting == AWAITING_MORE:
            if yes:
                return ActionMoreResults().run(dispatcher, tracker, domain)
            dispatcher.utter_message(response=UTTER_ANYTHING_ELSE)
            return [SlotSet(SLOT_AWAITING, AWAITING_KIND)]
        if awaiting == AWAITING_PLACE:
            if yes:
                dispatcher.utter_message(response=UTTER_ASK_PLACE)
                return []
            return skip_place(dispatcher, tracker, domain)  # "no" to "where?": go on without a place
        if awaiting == AWAITING_ADVOCATE:
            if yes:
                return ActionAdvocateStatus().run(dispatcher, tracker, domain)
            if still_asked(dispatcher, tracker):
                return []
        if yes:
            dispatcher.utter_message(response=UTTER_ASK_KIND)
            return [SlotSet(SLOT_AWAITING, AWAITING_KIND)]
        dispatcher.utter_message(response=UTTER_STILL_HERE)
        return [SlotSet(SLOT_AWAITING, None)]


class ActionRouteFallback(Action):
    """A message the bot did not understand: perhaps the place it asked for, else say so kindly
    (while an advocate is on the way, that they need not talk)."""

    def name(self) -> Text:
        return ACTION_ROUTE_FALLBACK

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        named = place_in_message(tracker)
        if tracker.get_slot(SLOT_AWAITING) == AWAITING_PLACE or named:
            found = named or getattr(geocode(tracker.latest_message.get("text") or ""), "label", None)
            if found:
                return use_place(dispatcher, tracker, domain, found)
            dispatcher.utter_message(response=UTTER_PLACE_NOT_FOUND)
            return []
        if tracker.get_slot(SLOT_AWAITING) == AWAITING_ADVOCATE and still_asked(dispatcher, tracker):
            return []
        dispatcher.utter_message(response=UTTER_DEFAULT)
        return [SlotSet(SLOT_AWAITING, AWAITING_KIND)]
