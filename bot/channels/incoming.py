"""What every channel does with what a person typed, before Rasa sees it.

Rasa reads a message that starts with "/" as an intent to run ("/restart", "/emergency"), skipping
NLU. A survivor's words must never do that: "/restart" would un-pause a conversation an advocate
holds, and a crafted message could set intents and slots at will. So every channel turns text
into a message with `user_message`, and ends a conversation only with `exit_message`, which the
channel builds itself when the person asks to leave (SMS "EXIT", the web chat's quick exit).

A message longer than MAX_TEXT_CHARS (an SMS can be no longer; a web chat paste or a REST call
can) is neither refused nor cut silently: Rasa reads its first part, so danger named at the
start is still caught and answered, and the channel then says `UTTER_MESSAGE_TOO_LONG` (only the
first part was read; send the rest in a shorter message), so nothing the person needs is lost.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional, Text

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.constants import USER_INTENT_RESTART

# Longest message Rasa reads: the most an SMS can carry (Twilio joins a long text into at most
# 1,600 characters), and the same on every channel.
MAX_TEXT_CHARS = 1600
# What a channel says after answering a message that was cut (domain.yml).
WORD_CUT_SLACK = 100  # characters a cut may give up to end at a whole word
# Rasa's ActionRestart says this response (domain.yml), then resets the conversation.


def without_commands(text: Optional[Text]) -> Text:
    """`text` as words: leading slashes (Rasa's intent prefix) and spaces removed."""
    return (text or "").strip().lstrip(INTENT_MESSAGE_PREFIX + " \t\r\n")


def is_too_long(text: Optional[Text]) -> bool:
    """Whether Rasa reads only the first part of `text` (the channel then says so)."""
    return len(without_commands(text)) > MAX_TEXT_CHARS


def plain_text(text: Optional[Text]) -> Text:
    """`text` as words for NLU, no longer than MAX_TEXT_CHARS: a longer text is cut after its
    last whole word that fits (so NLU does not read half a word), or at the limit when there is
    no space near it."""
    words = without_commands(text)
    if len(words) <= MAX_TEXT_CHARS:
        return words
    whole_words = re.match(r"(?s)(.*\S)\s", words[:MAX_TEXT_CHARS + 1])
    if whole_words and len(whole_words.group(1)) > MAX_TEXT_CHARS - WORD_CUT_SLACK:
        return whole_words.group(1)
    return words[:MAX_TEXT_CHARS].rstrip()


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
