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

SMS_CHANNEL = "twilio"
SAFETY_CHECK_ENTITY = "safety_check"  # bot.components.safety
# Answers that already say it is automated and not the police or immigration.
SELF_INTRODUCING_INTENTS = {"bot_challenge"}


def intro_needed(tracker: Tracker) -> bool:
    """True until the person has been told, once, that this is automated and not police (the
    emergency action sets `intro_given` too: a person in danger hears 911 first, not this)."""
    return not tracker.get_slot("intro_given")


def sms_note_needed(tracker: Tracker) -> bool:
    """True for an SMS conversation until the person has heard how to delete the thread and stop."""
    return tracker.get_latest_input_channel() == SMS_CHANNEL and not tracker.get_slot("sms_note_given")


def safety_check_needed(tracker: Tracker) -> bool:
    """True when the last message came near an emergency and 911 / 988 were not named for that yet."""
    entities = tracker.latest_message.get("entities") or []
    near = any(entity.get("entity") == SAFETY_CHECK_ENTITY for entity in entities)
    return near and not tracker.get_slot("safety_check_given")


class ActionNotices(Action):
    """Say, once each, (on SMS) the neutral first words and the privacy note, then the intro, and
    the 911 / 988 line when a message came near an emergency; nothing when all are said."""

    def name(self) -> Text:
        return "action_notices"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = []
        if intro_needed(tracker) and tracker.get_latest_input_channel() == SMS_CHANNEL:
            dispatcher.utter_message(response="utter_sms_first_words")
        if sms_note_needed(tracker):
            dispatcher.utter_message(response="utter_sms_privacy_note")
            events.append(SlotSet("sms_note_given", True))
        if intro_needed(tracker):
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            if intent not in SELF_INTRODUCING_INTENTS:
                dispatcher.utter_message(response="utter_intro")
            events.append(SlotSet("intro_given", True))
        if safety_check_needed(tracker):
            dispatcher.utter_message(response="utter_safety_check")
            events.append(SlotSet("safety_check_given", True))
        return events
