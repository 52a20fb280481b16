"""What the bot says about privacy and confidentiality, filled in with what is true of this
deployment: how long conversations are kept (RETENTION_DAYS, conversations.retention), who can read
them (this agency's advocates), what the channel itself keeps (Twilio keeps its own copy of every
text until DELETE erases it there too; a web chat can be erased from the chat), and the limits
of confidentiality the agency states (CONFIDENTIALITY_TEXT, else the domain's default words),
always after "you never have to report anything to get help".

The words per channel are the responses' `channel:` variations in domain.yml.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.response_parts import phrase
from bot.dialogue import (
    ACTION_ANSWER_CONFIDENTIALITY,
    ACTION_ANSWER_PRIVACY,
    UTTER_PART_CONFIDENTIALITY,
    UTTER_PART_NEVER_REPORT,
    UTTER_PRIVACY,
    UTTER_PRIVACY_KEPT,
)
from conversations.retention import retention_days
from infra.config import confidentiality_text


def days_text(days: float) -> Text:
    """30.0 as "30", 1.5 as "1.5"."""
    return f"{days:g}"


class ActionAnswerPrivacy(Action):
    """"Who can see this? Is it private?": who reads, how long it is kept, how to erase it."""

    def name(self) -> Text:
        return ACTION_ANSWER_PRIVACY

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        days = retention_days()
        if days is None:  # RETENTION_DAYS=off: kept until erased or purged by staff
            dispatcher.utter_message(response=UTTER_PRIVACY_KEPT)
        else:
            dispatcher.utter_message(response=UTTER_PRIVACY, retention_days=days_text(days))
        return []


class ActionAnswerConfidentiality(Action):
    """"Do you tell the police?": that nobody has to report anything to get help, then the
    agency's promise with its limits."""

    def name(self) -> Text:
        return ACTION_ANSWER_CONFIDENTIALITY

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        limits = confidentiality_text() or phrase(domain, UTTER_PART_CONFIDENTIALITY, tracker=tracker)
        never_report = phrase(domain, UTTER_PART_NEVER_REPORT, tracker=tracker)
        dispatcher.utter_message(text=f"{never_report} {limits}")
        return []
