"""Matching a directory's words and codes against the project's rules (kinds, tags): text and
name normalisation, AIRS code segments, and phrase lists compiled into one regular expression per
label so that classifying 100,000 services stays a matter of seconds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable


def normalise_text(text: str) -> str:
    """Lower case, punctuation to spaces, whitespace collapsed: "Men's  Shelter!" -> "men s shelter"."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def name_key(text: str) -> str:
    """A taxonomy term name compared across spellings: "Addiction & Recovery" = "addiction and recovery"."""
    return normalise_text(text.replace("&", " and "))


def code_parts(code: str) -> tuple[str, ...]:
    """AIRS code segments: "RX-8450.7000-350" -> ("RX", "8450", "7000", "350")."""
    return tuple(p for p in re.split(r"[-.]", code.strip().upper()) if p)


def phrase_regex(phrases: Iterable[str]) -> re.Pattern | None:
    """One pattern for several phrases; a phrase ending in "*" is a prefix ("counsel*")."""
    parts = []
    for phrase in phrases:
        words = normalise_text(phrase.rstrip("*")).split()
        if words:
            parts.append(r"\s+".join(re.escape(w) for w in words) + (r"\w*" if phrase.endswith("*") else r"\b"))
    if not parts:
        return None
    parts.sort(key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(parts) + ")")


@dataclass
class PhraseRule:
    """The phrases that give one label, and the phrases blanked out before looking (excludes)."""

    label: str
    matches: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    _match: re.Pattern | None = None
    _exclude: re.Pattern | None = None

    def compile(self) -> "PhraseRule":
        self._match = phrase_regex(self.matches)
        self._exclude = phrase_regex(self.excludes)
        return self

    def find(self, normalised: str) -> str | None:
        """The phrase found in already-normalised text, as written there, or None."""
        if self._match is None:
            return None
        if self._exclude is not None:
            normalised = self._exclude.sub(" ", normalised)
        found = self._match.search(normalised)
        return found.group(0) if found else None
