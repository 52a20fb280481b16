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

from bot.actions.find_help import ActionFindHelp, ActionMoreResults, latest_intent, place_in_message
from bot.actions.handoff import ActionAdvocateStatus, still_asked
from resources.places.geocode import geocode


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
        if awaiting == "advocate":
            if yes:
                return ActionAdvocateStatus().run(dispatcher, tracker, domain)
            if still_asked(dispatcher, tracker):
                return []
        if yes:
            dispatcher.utter_message(response="utter_ask_kind")
            return [SlotSet("awaiting", "kind")]
        dispatcher.utter_message(response="utter_still_here")
        return [SlotSet("awaiting", None)]


class ActionRouteFallback(Action):
    """A message the bot did not understand: perhaps the place it asked for, else say so kindly
    (while an advocate is on the way, that they need not talk)."""

    def name(self) -> Text:
        return "action_route_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        named = place_in_message(tracker)
        if tracker.get_slot("awaiting") == "place" or named:
            found = named or getattr(geocode(tracker.latest_message.get("text") or ""), "label", None)
            if found:
                return [SlotSet("place", found)] + ActionFindHelp().run(dispatcher, with_place(tracker, found), domain)
            dispatcher.utter_message(response="utter_place_not_found")
            return []
        if tracker.get_slot("awaiting") == "advocate" and still_asked(dispatcher, tracker):
            return []
        dispatcher.utter_message(response="utter_default")
        return [SlotSet("awaiting", "kind")]


def _as_skip(tracker: Tracker) -> Tracker:
    """A copy of the tracker whose latest message reads as "skip" (no place)."""
    copy = tracker.copy()
    copy.latest_message = {**tracker.latest_message, "intent": {"name": "skip_place", "confidence": 1.0}}
    return copy


def with_place(tracker: Tracker, label: Text) -> Tracker:
    """A copy of the tracker whose `place` slot holds `label` (for chaining actions in one turn)."""
    copy = tracker.copy()
    copy.slots = {**tracker.slots, "place": label, "place_declined": False}
    return copy
