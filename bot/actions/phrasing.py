"""Pieces of messages taken from the domain's responses, so every word stays in domain.yml.

Rasa renders a whole response at a time; a list of services is one SMS-sized message built from
several `utter_part_*` responses, which the actions fill in here.
"""
from __future__ import annotations

from typing import Any, Dict, Text

DomainDict = Dict[Text, Any]


class _Blank(dict):
    def __missing__(self, key: str) -> str:  # a missing value leaves a gap, never a crash
        return ""


def phrase(domain: DomainDict, response: Text, **values: Any) -> Text:
    """The first text variation of `response`, with `{name}` placeholders filled from `values`."""
    variations = domain.get("responses", {}).get(response) or []
    for variation in variations:
        if not variation.get("channel") and variation.get("text"):
            return variation["text"].format_map(_Blank(values)).strip()
    raise KeyError(f"domain.yml has no text response named {response!r}")


def kind_name(domain: DomainDict, kind: Text) -> Text:
    """How the bot names a kind of help in a sentence: "shelter", "legal help"."""
    return phrase(domain, f"utter_part_kind_{kind}")
