"""Offline geocoding of what a person types as a place: "83702", "Boise", "boise id",
"Omaha, Nebraska", "near 68102", "I'm in Sioux Falls right now".

Same-named towns resolve to the one in the state given, else the most populous.
"""
from __future__ import annotations

import re

from resources.gazetteer import Place, gazetteer, name_key

ZIP_RE = re.compile(r"(?<!\d)(\d{5})(?:-\d{4})?(?!\d)")
_FILLER = re.compile(
    r"^(?:i\s*(?:am|'m|m)\s+|im\s+|we\s*(?:are|'re)\s+|at\s+|in\s+|near\s+|around\s+|by\s+|close\s+to\s+"
    r"|the\s+|city\s+of\s+|zip(?:\s*code)?\s*(?:is\s+)?:?\s*)+",
    re.I,
)
_TRAILING = re.compile(r"\s+(?:area|county|please|pls|plz|thanks|thank you|now|right now)\s*$", re.I)
# Town names that are also everyday words: found inside a sentence only when capitalised.
_EVERYDAY_WORDS = {
    "help", "home", "hope", "safe", "mobile", "normal", "reading", "why", "here", "there", "liberty",
    "friendship", "independence", "justice", "police", "shelter", "center", "centre", "victoria",
    "phone", "need", "can", "will", "may", "bar", "man", "boring", "sugar", "tell", "white",
    "joy", "love", "rock", "beach", "lake", "park", "eagle", "alpha", "omega", "rich", "sale",
    "free", "open", "court", "law", "legal", "clean", "mission", "refuge", "haven", "harmony",
    "faith", "grace", "unity", "welcome", "day", "today", "tonight", "ware", "bath", "mercy",
}
MIN_POPULATION_IN_SENTENCE = 1000
BIG_CITY = 100_000


def geocode(text: str) -> Place | None:
    """The place `text` names, or None when it names none that the gazetteer knows."""
    if not text:
        return None
    gaz = gazetteer()
    zip_match = ZIP_RE.search(text)
    if zip_match:
        place = gaz.zip(zip_match.group(1))
        if place:
            return place
    cleaned = _clean(text)
    if not cleaned:
        return None
    if gaz.state_code(cleaned) and len(cleaned) > 2 and gaz.population(cleaned) < BIG_CITY:
        return _state_only(cleaned)  # "Idaho" is the state, not Idaho, OH; "New York" stays the city
    return _city_state(cleaned) or _state_only(cleaned) or _place_in_sentence(text)


def _clean(text: str) -> str:
    text = text.strip().strip(".!?\"' ")
    previous = None
    while previous != text:
        previous = text
        text = _FILLER.sub("", text).strip()
        text = _TRAILING.sub("", text).strip().strip(".!?,")
    return text


def _city_state(text: str) -> Place | None:
    """"Boise", "Boise, ID", "boise idaho", "Sioux Falls South Dakota", "new york ny"."""
    gaz = gazetteer()
    if "," in text:
        city, _, rest = text.partition(",")
        state = gaz.state_code(rest.strip())
        if state:
            return gaz.city(city, state) or gaz.city(city)
        return gaz.city(city) if city.strip() else None
    words = text.split()
    for size in (2, 1):
        if len(words) > size:
            state = gaz.state_code(" ".join(words[-size:]))
            if state:
                place = gaz.city(" ".join(words[:-size]), state)
                if place:
                    return place
    return gaz.city(text)


def _state_only(text: str) -> Place | None:
    gaz = gazetteer()
    code = gaz.state_code(text)
    # A bare two-letter word ("in", "me", "or", "ok") is far likelier English than a state code.
    if code and (len(text) > 2 or text.isupper()):
        return gaz.state(code)
    return None


def _place_in_sentence(text: str) -> Place | None:
    """The longest town name inside a sentence, optionally followed by its state."""
    gaz = gazetteer()
    tokens = re.findall(r"[A-Za-z][A-Za-z.'-]*", text)
    for size in range(min(4, len(tokens)), 0, -1):
        for start in range(len(tokens) - size + 1):
            words = tokens[start:start + size]
            phrase = " ".join(words)
            if not gaz.cities_named(phrase):
                continue
            capitalised = all(w[0].isupper() for w in words)
            everyday = size == 1 and name_key(phrase) in _EVERYDAY_WORDS
            if everyday and not capitalised:
                continue
            if not capitalised and gaz.population(phrase) < MIN_POPULATION_IN_SENTENCE:
                continue
            after = tokens[start + size:start + size + 2]
            for n in (2, 1):
                state = gaz.state_code(" ".join(after[:n])) if len(after) >= n else None
                if state and gaz.city(phrase, state):
                    return gaz.city(phrase, state)
            return gaz.city(phrase)
    return None
