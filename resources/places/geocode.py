"""Offline geocoding of what a person types as a place: "83702", "Boise", "boise id",
"Omaha, Nebraska", "near 68102", "I'm in Sioux Falls right now".

Same-named towns resolve to the one in the state given, else the most populous. Common
misspellings ("omha", "bosie", "pittsburg pa") resolve too (resources.places.spelling).
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

from resources.places.gazetteer import Place, gazetteer, name_key
from resources.places.spelling import closest_spelling

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
    return _city_state(cleaned) or _state_only(cleaned) or _misspelt(cleaned) or _place_in_sentence(text)


def town(name: str, state: str | None = None) -> Place | None:
    """The town `name` (in `state` if given), spelt right or with a common slip, else None."""
    gaz = gazetteer()
    place = gaz.city(name, state)
    if place:
        return place
    spelling = closest_spelling(name, state)
    if spelling and spelling.kind == "city":
        return gaz.city(spelling.name, state)
    return None


# Same-named towns worth telling apart: at least this share of the largest one's population.
CHOICE_MIN_SHARE = 0.1
CHOICE_MIN_POPULATION = 1000


def town_choices(name: str) -> list[Place]:
    """The towns a bare town name (no state) may mean, most populous first.

    Tiny namesakes are left out (Omaha, TX beside Omaha, NE), so one entry means the name is
    clear and several mean the caller should choose, e.g. by where its services are.
    """
    places = gazetteer().cities_named(name)
    if not places:
        return []
    floor = max(CHOICE_MIN_POPULATION, CHOICE_MIN_SHARE * places[0].population)
    return [places[0]] + [p for p in places[1:] if p.population >= floor]


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
            return town(city, state) or gaz.city(city)
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


def _misspelt(text: str) -> Place | None:
    """A short place answer with a slip in it: "omha", "bosie idaho", "pittsburg pa", "nebrska"."""
    gaz = gazetteer()
    words = text.replace(",", " ").split()
    if not words or len(words) > 4:
        return None
    for size in (2, 1):
        if len(words) > size:
            state = gaz.state_code(" ".join(words[-size:]))
            if state:
                return town(" ".join(words[:-size]), state)
    spelling = closest_spelling(" ".join(words))
    if spelling is None:
        return None
    if spelling.kind == "state":
        return gaz.state(gaz.state_code(spelling.name))
    return gaz.city(spelling.name)


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


def geocode_address(postal_code: str | None, city: str | None, state: str | None) -> tuple[Place, str, str] | None:
    """(place, "zip" or "city", what was looked up) for a directory address without coordinates.

    The ZIP code's centre is used when the gazetteer knows the ZIP (ZIP+4 and padding are fine); else
    the town's, in the given state when there is one. Approximate by design: enough to rank a service
    by distance, never shown as its address.
    """
    gaz = gazetteer()
    match = ZIP_RE.search(postal_code or "")
    if match and gaz.zip(match.group(1)):
        return gaz.zip(match.group(1)), "zip", match.group(1)
    city = " ".join((city or "").split())
    if not city:
        return None
    state_code = gaz.state_code(state.strip()) if state and state.strip() else None
    place = gaz.city(city, state_code) if state_code else gaz.city(city)
    if place is None:
        return None
    return place, "city", f"{city}, {state_code}" if state_code else city


@lru_cache(maxsize=2)
def _zip_grid(cell_degrees: float) -> dict[tuple[int, int], list[tuple[float, float, str]]]:
    """ZIP code centres with a time zone, by grid cell (built once per cell size, ~40k entries)."""
    grid: dict[tuple[int, int], list[tuple[float, float, str]]] = {}
    for zlat, zlon, _city, _state, tz in gazetteer().zips.values():
        if tz and "/" in tz:
            grid.setdefault((math.floor(zlat / cell_degrees), math.floor(zlon / cell_degrees)), []).append(
                (zlat, zlon, tz))
    return grid


def timezone_near(lat: float, lon: float) -> str | None:
    """The IANA time zone of the gazetteer ZIP code nearest to a point (None beyond about 100 km):
    looked for among the ZIP codes of the 0.2-degree cells around the point, then of the 1-degree ones."""
    scale = math.cos(math.radians(lat))
    for cell_degrees in (0.2, 1.0):
        grid = _zip_grid(cell_degrees)
        row, col = math.floor(lat / cell_degrees), math.floor(lon / cell_degrees)
        best = None
        for drow in (-1, 0, 1):
            for dcol in (-1, 0, 1):
                for zlat, zlon, tz in grid.get((row + drow, col + dcol), ()):
                    d = (zlat - lat) ** 2 + ((zlon - lon) * scale) ** 2
                    if best is None or d < best[0]:
                        best = (d, tz)
        if best:
            return best[1]
    return None
