"""Actions that hand a conversation to a human advocate: on an emergency signal (priority
`emergency`) or when the survivor asks for a person (priority `request`).

The survivor's safety message goes first, then the handoff is recorded, so that a database fault
can never hold back 911 / 988.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from navigator.db import session_scope
from navigator.handoffs import open_handoff

logger = logging.getLogger(__name__)

EMERGENCY_RESPONSES = {
    "self_harm": "utter_emergency_self_harm",
    "medical": "utter_emergency_medical",
    "danger": "utter_emergency_danger",
}


def record_handoff(tracker: Tracker, priority: Text, reason: Text) -> bool:
    """Open (or escalate) the conversation's handoff; False if the database could not be reached."""
    try:
        with session_scope() as session:
            handoff = open_handoff(session, tracker.sender_id, tracker.get_latest_input_channel() or "unknown",
                                   priority, reason)
            logger.info("handoff %s: priority %s, reason %s", handoff.id, priority, reason)
        return True
    except Exception:  # the survivor has their numbers already; the operator must see this
        logger.exception("could not record a %s handoff", priority)
        return False


class ActionEmergency(Action):
    """911 or 988 at once, then a handoff of priority `emergency`."""

    def name(self) -> Text:
        return "action_emergency"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        category = next(tracker.get_latest_entity_values("danger_type"), None) or "danger"
        dispatcher.utter_message(response=EMERGENCY_RESPONSES.get(category, "utter_emergency_danger"))
        record_handoff(tracker, "emergency", category)
        dispatcher.utter_message(response="utter_emergency_can_say_no")
        return [SlotSet("awaiting", "advocate"), SlotSet("intro_given", True)]


class ActionHumanHandoff(Action):
    """The survivor asked for a person: a handoff of priority `request`."""

    def name(self) -> Text:
        return "action_human_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        record_handoff(tracker, "request", "request")
        dispatcher.utter_message(response="utter_handoff_requested")
        return [SlotSet("awaiting", "advocate")]
