"""What every channel does with what a person typed, before Rasa sees it.

Rasa reads a message that starts with "/" as an intent to run ("/restart", "/emergency"), skipping
NLU. A survivor's words must never do that: "/restart" would un-pause a conversation an advocate
holds, and a crafted message could set intents and slots at will. So every channel turns text
into a message with `user_message`, and ends a conversation only with `exit_message`, which the
channel builds itself when the person asks to leave (SMS "EXIT", the web chat's quick exit).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.constants import USER_INTENT_RESTART

# Longest message a channel passes on; longer input is cut, never refused, so nothing is lost
# that NLU could use (SMS bodies are at most 1,600 characters anyway).
MAX_TEXT_CHARS = 2000
# Rasa's ActionRestart says this response (domain.yml), then resets the conversation.
EXIT_RESPONSE = "utter_restart"


def plain_text(text: Optional[Text]) -> Text:
    """`text` as words for NLU: leading slashes (Rasa's intent prefix) and spaces removed."""
    text = (text or "")[:MAX_TEXT_CHARS].strip()
    return text.lstrip(INTENT_MESSAGE_PREFIX + " \t\r\n")


def user_message(text: Optional[Text], output_channel: OutputChannel, sender_id: Text, input_channel: Text,
                 metadata: Optional[Dict[Text, Any]] = None) -> UserMessage:
    """A message Rasa's NLU reads as plain words, whatever it starts with."""
    return UserMessage(plain_text(text), output_channel, sender_id, input_channel=input_channel,
                       metadata=metadata)


def exit_message(output_channel: OutputChannel, sender_id: Text, input_channel: Text,
                 text: Text = "exit") -> UserMessage:
    """The person asked to leave: Rasa's `restart` intent, set by the channel (never by NLU), so
    Rasa says `utter_restart` and resets the conversation, even one an advocate had paused."""
    parse_data = {"text": text, "intent": {"name": USER_INTENT_RESTART, "confidence": 1.0},
                  "intent_ranking": [], "entities": []}
    return UserMessage(text, output_channel, sender_id, parse_data=parse_data, input_channel=input_channel)
