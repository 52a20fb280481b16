"""Actions that put a person in the conversation, and say truthfully who is reading: an emergency
(priority `emergency`), a survivor asking for a person (priority `request`), "no advocate", and
"is a person reading? / how long?".

The emergency words (911 or 988, the 24/7 lines) come first and do not depend on anything; what
follows says only what is true (bot.handoff_replies): that an advocate was asked only when the
handoff is in the queue, the place in line, that nobody is on shift and when the next shift
starts, or that the queue could not be reached. Declining takes an explicit choice ("No
advocate"), never a bare "no": after an emergency an unclear answer keeps the handoff open.
The advocates' SMS alerts go out in the background, after the reply (conversations.handoff_requests).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.find_help import DIRECTORY_UNREACHABLE, latest_intent, show_results
from bot.actions.response_parts import DomainDict, kind_name, phrase
from bot.dialogue import (
    ACTION_ADVOCATE_STATUS,
    ACTION_DECLINE_ADVOCATE,
    ACTION_EMERGENCY,
    ACTION_HUMAN_HANDOFF,
    ACTION_NO_FIRST_CONTACT,
    AWAITING_ADVOCATE,
    ENTITY_DANGER_TYPE,
    ENTITY_PLACE,
    ENTITY_SERVICE_KIND,
    INTENT_BOT_CHALLENGE,
    SLOT_AWAITING,
    SLOT_CONTACT_FIRST,
    SLOT_INTRO_GIVEN,
    SLOT_PLACE,
    UTTER_ADVOCATE_STILL_ASKED,
    UTTER_EMERGENCY_CAN_SAY_NO,
    UTTER_EMERGENCY_PLACE_LATER,
    UTTER_HANDOFF_DECLINED,
    UTTER_NO_FIRST_CONTACT,
)
from bot.handoff_replies import (
    DEFAULT_DANGER,
    AdvocateReply,
    after_asking,
    emergency_response,
    moment_responses,
    not_kept_after_hours,
    status_now,
)
from bot.nlp.language import conversation_language
from conversations.handoff_requests import Asked, ask_for_advocate, current_request, decline
from conversations.handoffs import EMERGENCY_PRIORITY, REQUEST_PRIORITY
from conversations.shifts import after_hours_handoffs, shift_state
from conversations.shifts import check as check_shift_settings

logger = logging.getLogger(__name__)
check_shift_settings()  # a bad STAFFED_HOURS stops the action server at start, not at a survivor's turn


def say(dispatcher: CollectingDispatcher, domain: DomainDict, tracker: Tracker, reply: AdvocateReply) -> None:
    """Utter `reply` with its place in line and next shift filled in (then the way to decline)."""
    values: Dict[Text, Any] = dict(place=reply.place)  # {place}: the place in line
    if reply.when is not None:
        day_response, moment_response, parts = moment_responses(reply.when)
        values["when"] = phrase(domain, moment_response, tracker=tracker,
                                day=phrase(domain, day_response, tracker=tracker), **parts)
    dispatcher.utter_message(response=reply.response, **values)
    if reply.can_decline:
        dispatcher.utter_message(response=UTTER_EMERGENCY_CAN_SAY_NO)


def channel_of(tracker: Tracker) -> Text:
    return tracker.get_latest_input_channel() or "unknown"


class ActionEmergency(Action):
    """911 or 988 at once, then a handoff of priority `emergency`, the advocates' alerts, and
    what came of it."""

    def name(self) -> Text:
        return ACTION_EMERGENCY

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        category = next(tracker.get_latest_entity_values(ENTITY_DANGER_TYPE), None)
        dispatcher.utter_message(response=emergency_response(category))
        asked = await ask_for_advocate(tracker.sender_id, channel_of(tracker), EMERGENCY_PRIORITY,
                                       category or DEFAULT_DANGER, events=tracker.events,
                                       language=conversation_language(tracker.events))
        say(dispatcher, domain, tracker, after_asking(asked, shift_state(), emergency=True))
        events = help_asked_for(dispatcher, tracker, domain)
        return events + [SlotSet(SLOT_AWAITING, AWAITING_ADVOCATE if asked.stored else None),
                         SlotSet(SLOT_INTRO_GIVEN, True)]


def help_asked_for(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
    """After the emergency lines, the kind of help the same message asked for (the safety
    component keeps it as a `service_kind` entity): results when a place is known, else a word
    that a town or ZIP will bring them. No question here: an answer is about the advocate."""
    kind = next(tracker.get_latest_entity_values(ENTITY_SERVICE_KIND), None)
    if not kind:
        return []
    place = next(tracker.get_latest_entity_values(ENTITY_PLACE), None) or tracker.get_slot(SLOT_PLACE)
    if place:
        return show_results(dispatcher, tracker, domain, kind, place)
    dispatcher.utter_message(response=UTTER_EMERGENCY_PLACE_LATER, kind_name=kind_name(domain, kind, tracker))
    return []


class ActionHumanHandoff(Action):
    """The survivor asked for a person: a handoff of priority `request` (out of hours, only when
    the agency keeps them: AFTER_HOURS_HANDOFFS)."""

    def name(self) -> Text:
        return ACTION_HUMAN_HANDOFF

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        shift = shift_state()
        if not shift.on_shift and after_hours_handoffs() == "drop" and not _waiting(tracker):
            say(dispatcher, domain, tracker, not_kept_after_hours(shift))
            return [SlotSet(SLOT_AWAITING, None)]
        asked = await ask_for_advocate(tracker.sender_id, channel_of(tracker), REQUEST_PRIORITY, "request",
                                       events=tracker.events, language=conversation_language(tracker.events))
        say(dispatcher, domain, tracker, after_asking(asked, shift, emergency=False))
        return [SlotSet(SLOT_AWAITING, AWAITING_ADVOCATE if asked.stored else None)]


class ActionDeclineAdvocate(Action):
    """"No advocate", chosen clearly: a request leaves the queue; an emergency stays there for an
    advocate to review, without more alerts (conversations.handoffs.declined_by_survivor)."""

    def name(self) -> Text:
        return ACTION_DECLINE_ADVOCATE

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        try:
            waiting = decline(tracker.sender_id)
        except DIRECTORY_UNREACHABLE as error:
            logger.error("could not record that the survivor declined an advocate: %s", type(error).__name__)
            waiting = True  # the survivor's choice is answered all the same
        if waiting:
            dispatcher.utter_message(response=UTTER_HANDOFF_DECLINED)
        else:  # nobody was waiting: nothing asked, or an advocate has the chat (their call, not the bot's)
            say(dispatcher, domain, tracker, status_now(_waiting(tracker), shift_state(), "declined"))
        return [SlotSet(SLOT_AWAITING, None)]


class ActionAdvocateStatus(Action):
    """"Is a person reading this?" and "how long / where am I in line?", answered for the
    conversation's handoff as it stands: nobody asked, asked (place in line, or nobody on shift
    until the next shift), or an advocate has the chat."""

    def name(self) -> Text:
        return ACTION_ADVOCATE_STATUS

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        question = "reading" if latest_intent(tracker) == INTENT_BOT_CHALLENGE else "queue"
        say(dispatcher, domain, tracker, status_now(_waiting(tracker), shift_state(), question))
        return []


def _waiting(tracker: Tracker) -> Optional[Asked]:
    """The conversation's handoff that someone is coming for, if any; None when the queue cannot
    be read (then nothing is promised)."""
    try:
        return current_request(tracker.sender_id)
    except DIRECTORY_UNREACHABLE as error:
        logger.error("could not read the handoff queue: %s", type(error).__name__)
        return None


def still_asked(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """After "no" (or anything unclear) while an advocate is on the way: nothing is cancelled; the
    survivor hears that they need not talk, and how to say no advocate. False when nobody is
    on the way."""
    if _waiting(tracker) is None:
        return False
    dispatcher.utter_message(response=UTTER_ADVOCATE_STILL_ASKED)
    return True


class ActionNoFirstContact(Action):
    """"Don't text me first": from now on nothing is sent to this conversation unprompted (the
    console holds notices and an advocate's first message until the survivor writes again)."""

    def name(self) -> Text:
        return ACTION_NO_FIRST_CONTACT

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response=UTTER_NO_FIRST_CONTACT)
        return [SlotSet(SLOT_CONTACT_FIRST, False)]
