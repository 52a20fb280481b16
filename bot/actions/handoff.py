"""Actions that hand a conversation to a human advocate: on an emergency signal (priority
`emergency`) or when the survivor asks for a person (priority `request`).

A database or Twilio fault never holds back the survivor's reply: recording the handoff is
guarded, and the advocates' SMS alerts go out in the background after the reply.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Set, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.find_help import show_results
from bot.actions.phrasing import kind_name
from navigator.alerts import send_handoff_alerts
from navigator.db import session_scope
from navigator.handoffs import live_handoff, open_handoff

logger = logging.getLogger(__name__)

EMERGENCY_RESPONSES = {
    "self_harm": "utter_emergency_self_harm",
    "medical": "utter_emergency_medical",
    "danger": "utter_emergency_danger",
}
_background: Set["asyncio.Task"] = set()  # alerts in flight (kept referenced until done)


def record_handoff(tracker: Tracker, priority: Text, reason: Text) -> Optional[int]:
    """Open (or escalate) the conversation's handoff. Returns its id when advocates must be alerted
    (a new handoff, or a request that became an emergency), else None; None too when the database
    could not be reached (logged for the operator)."""
    try:
        with session_scope() as session:
            live = live_handoff(session, tracker.sender_id)
            before = live.priority if live is not None else None
            handoff = open_handoff(session, tracker.sender_id, tracker.get_latest_input_channel() or "unknown",
                                   priority, reason)
            logger.info("handoff %s: priority %s, reason %s", handoff.id, handoff.priority, reason)
            return handoff.id if before != handoff.priority else None
    except Exception as error:  # the survivor has their numbers already; the operator must see this
        # The type only: a database error's text carries the statement's values (the conversation id).
        logger.error("could not record a %s handoff: %s", priority, type(error).__name__)
        logger.debug("could not record a %s handoff", priority, exc_info=True)
        return None


def alert_in_background(handoff_id: Optional[int], priority: Text) -> None:
    if handoff_id is None:
        return
    task = asyncio.get_running_loop().create_task(send_handoff_alerts(handoff_id, priority))
    _background.add(task)
    task.add_done_callback(_background.discard)


class ActionEmergency(Action):
    """911 or 988 at once, then a handoff of priority `emergency` and the advocates' alerts."""

    def name(self) -> Text:
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        category = next(tracker.get_latest_entity_values("danger_type"), None) or "danger"
        dispatcher.utter_message(response=EMERGENCY_RESPONSES.get(category, "utter_emergency_danger"))
        alert_in_background(record_handoff(tracker, "emergency", category), "emergency")
        dispatcher.utter_message(response="utter_emergency_can_say_no")
        events = help_asked_for(dispatcher, tracker, domain)
        return events + [SlotSet("awaiting", "advocate"), SlotSet("intro_given", True)]


def help_asked_for(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
    """After the emergency lines, the kind of help the same message asked for (the safety
    component keeps it as a `service_kind` entity): results when a place is known, else a word
    that a town or ZIP will bring them. No question here: "no" still declines the advocate."""
    kind = next(tracker.get_latest_entity_values("service_kind"), None)
    if not kind:
        return []
    place = next(tracker.get_latest_entity_values("place"), None) or tracker.get_slot("place")
    if place:
        return show_results(dispatcher, tracker, domain, kind, place)
    dispatcher.utter_message(response="utter_emergency_place_later", kind_name=kind_name(domain, kind, tracker))
    return []


class ActionHumanHandoff(Action):
    """The survivor asked for a person: a handoff of priority `request`."""

    def name(self) -> Text:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        alert_in_background(record_handoff(tracker, "request", "request"), "request")
        dispatcher.utter_message(response="utter_handoff_requested")
        return [SlotSet("awaiting", "advocate")]
