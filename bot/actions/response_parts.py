"""Pieces of messages taken from the domain's responses, so every word stays in domain.yml.

Rasa renders a whole response at a time; a list of services is one SMS-sized message built from
several `utter_part_*` responses, which the actions fill in here. Variations are chosen the way
Rasa chooses them: one whose slot conditions (e.g. `language: es`) and channel match the
conversation wins over the plain default, so a translation added to domain.yml reaches these
pieces with no code change.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from bot.dialogue import utter_part_kind

DomainDict = Dict[Text, Any]


class _Blank(dict):
    def __missing__(self, key: str) -> str:  # a missing value leaves a gap, never a crash
        return ""


def phrase(domain: DomainDict, response: Text, *, tracker: Any = None, **values: Any) -> Text:
    """The text of `response` for this conversation (its language and channel, when `tracker`
    is given), with `{name}` placeholders filled from `values`."""
    variations = [v for v in domain.get("responses", {}).get(response) or [] if v.get("text")]
    chosen = best_variation(variations, tracker)
    if chosen is None:
        raise KeyError(f"domain.yml has no text response named {response!r}")
    return chosen["text"].format_map(_Blank(values)).strip()


def best_variation(variations: List[Dict[Text, Any]], tracker: Any = None) -> Optional[Dict[Text, Any]]:
    """The most specific variation whose conditions and channel hold, else the first plain one."""
    slots = (tracker.slots if tracker is not None else {}) or {}
    channel = tracker.get_latest_input_channel() if tracker is not None else None
    best, best_score = None, -1
    for variation in variations:
        conditions = variation.get("condition") or []
        if variation.get("channel") and variation["channel"] != channel:
            continue
        if not all(c.get("type") == "slot" and slots.get(c.get("name")) == c.get("value") for c in conditions):
            continue
        score = len(conditions) + bool(variation.get("channel"))
        if score > best_score:
            best, best_score = variation, score
    return best


def kind_name(domain: DomainDict, kind: Text, tracker: Any = None) -> Text:
    """How the bot names a kind of help in a sentence: "shelter", "legal help"."""
    return phrase(domain, utter_part_kind(kind), tracker=tracker)
