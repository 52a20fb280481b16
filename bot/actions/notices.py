"""What the bot tells every person once per conversation, before its first answer: that it is
automated and not the police or immigration, and, to SMS users, how to delete the thread and how
to stop texts. And, once, 911 and 988 when a message came near an emergency without being taken
for one (the safety component's `safety_check` entity). A rule runs `action_notices` ahead of
each answer (bot/data/rules.yml), so the notices come first whatever the first message is, and
never twice.

A text shows on a locked phone, where someone else may read it. So the first SMS answer starts
with neutral words that say nothing of abuse, police or shelters, and asks at once whether it is
safe to text, with one word (EXIT) that ends the chat quietly (`utter_sms_first_words`); the
rest follows. An emergency skips all this: 911 or 988 come first.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue import (
    ACTION_NOTICES,
    INTENT_BOT_CHALLENGE,
    MARK_SAFETY_CHECK,
    SLOT_INTRO_GIVEN,
    SLOT_SAFETY_CHECK_GIVEN,
    SLOT_SMS_NOTE_GIVEN,
    UTTER_INTRO,
    UTTER_SAFETY_CHECK,
    UTTER_SMS_FIRST_WORDS,
    UTTER_SMS_PRIVACY_NOTE,
)

SMS_CHANNEL = "twilio"
# Answers that already say it is automated and not the police or immigration.
SELF_INTRODUCING_INTENTS = {INTENT_BOT_CHALLENGE}


def intro_needed(tracker: Tracker) -> bool:
    """True until the person has been told, once, that this is automated and not police (the
    emergency action sets `intro_given` too: a person in danger hears 911 first, not this)."""
    return not tracker.get_slot(SLOT_INTRO_GIVEN)


def sms_note_needed(tracker: Tracker) -> bool:
    """True for an SMS conversation until the person has heard how to delete the thread and stop."""
    return tracker.get_latest_input_channel() == SMS_CHANNEL and not tracker.get_slot(SLOT_SMS_NOTE_GIVEN)


def safety_check_needed(tracker: Tracker) -> bool:
    """True when the last message came near an emergency and 911 / 988 were not named for that yet."""
    entities = tracker.latest_message.get("entities") or []
    near = any(entity.get("entity") == MARK_SAFETY_CHECK for entity in entities)
    return near and not tracker.get_slot(SLOT_SAFETY_CHECK_GIVEN)


class ActionNotices(Action):
    """Say, once each, (on SMS) the neutral first words and the privacy note, then the intro, and
    the 911 / 988 line when a message came near an emergency; nothing when all are said."""

    def name(self) -> Text:
        return ACTION_NOTICES

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = []
        if intro_needed(tracker) and tracker.get_latest_input_channel() == SMS_CHANNEL:
            dispatcher.utter_message(response=UTTER_SMS_FIRST_WORDS)
        if sms_note_needed(tracker):
            dispatcher.utter_message(response=UTTER_SMS_PRIVACY_NOTE)
            events.append(SlotSet(SLOT_SMS_NOTE_GIVEN, True))
        if intro_needed(tracker):
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            if intent not in SELF_INTRODUCING_INTENTS:
                dispatcher.utter_message(response=UTTER_INTRO)
            events.append(SlotSet(SLOT_INTRO_GIVEN, True))
        if safety_check_needed(tracker):
            dispatcher.utter_message(response=UTTER_SAFETY_CHECK)
            events.append(SlotSet(SLOT_SAFETY_CHECK_GIVEN, True))
        return events
