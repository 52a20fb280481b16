"""The bot's messages as SMS text, and a reply that is a number as the option it picks.

SMS has no buttons, so options become numbered lines ("Reply 1 for Shelter", worded in domain.yml)
and a bare number answers with the option's payload. Twilio refuses a body over 1,600 characters, so a long reply is cut into
several, at the clearest boundary that fits: a blank line, a line, a sentence, a word.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from infra.sms_charset import SMS_MAX_CHARS, sms_length

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_NUMBER_REPLY = re.compile(r"\s*#?\s*(\d{1,2})\s*[.)]?\s*")


# Each level: how a text is cut, and what joins the pieces back together.
_LEVELS = (
    (lambda text: text.split("\n\n"), "\n\n"),
    (lambda text: text.split("\n"), "\n"),
    (lambda text: _SENTENCE_END.split(text), " "),
    (lambda text: text.split(" "), " "),
)


def split_for_sms(text: Text, limit: int = SMS_MAX_CHARS) -> List[Text]:
    """`text` as messages of at most `limit` characters each, cut where a reader expects it."""
    text = text.strip()
    if not text:
        return []
    return [chunk for chunk in (c.strip() for c in _pack(text, limit, 0)) if chunk]


def _pack(text: Text, limit: int, level: int) -> List[Text]:
    if sms_length(text) <= limit:
        return [text]
    if level == len(_LEVELS):
        return _cut_characters(text, limit)
    split, joiner = _LEVELS[level]
    chunks: List[Text] = []
    current = ""
    for part in split(text):
        if sms_length(part) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.extend(_pack(part, limit, level + 1))
            continue
        candidate = f"{current}{joiner}{part}" if current else part
        if sms_length(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = part
    if current:
        chunks.append(current)
    return chunks


def _cut_characters(text: Text, limit: int) -> List[Text]:
    chunks, current = [], ""
    for char in text:
        if sms_length(current + char) > limit:
            chunks.append(current)
            current = ""
        current += char
    return chunks + ([current] if current else [])


def number_reply(reply: Text) -> Optional[int]:
    """The number of a reply that is only a number ("2", "#2", "2."), or None."""
    match = _NUMBER_REPLY.fullmatch(reply or "")
    return int(match.group(1)) if match else None


def chosen_payload(reply: Text, buttons: Sequence[Dict[Text, Any]]) -> Optional[Text]:
    """The payload of the option a bare number picks, or None."""
    number = number_reply(reply)
    if number is None:
        return None
    if 1 <= number <= len(buttons):
        return buttons[number - 1].get("payload") or buttons[number - 1].get("title")
    return None


def turn_text(messages: Sequence[Tuple[Text, Sequence[Text]]]) -> Text:
    """One turn's messages as one SMS text; each message is its words and its option lines
    ("Reply 1 for Shelter"), already worded."""
    pieces = []
    for text, option_lines in messages:
        piece = "\n".join(part for part in ((text or "").strip(), *option_lines) if part)
        if piece:
            pieces.append(piece)
    return "\n\n".join(pieces)
