"""spaCy component: towns and states typed with a slip ("omha", "bosie", "chicgo", "nebrska").

The entity ruler only knows names spelt right. People texting in a hurry do not, so after the
ruler this component looks at the words left over and asks resources.places.spelling for a
town or state one or two slips away. Guessing is only safe where a place is expected, so a
window of 1-3 words is tried only:
  - after "in", "near", "around"… ("shelter in omha"),
  - right before a state ("omha ne", "bosie idaho"; the state then narrows the guess),
  - when it is nearly the whole message (the answer to "where are you?"; a word under six letters
    then only for a city of 100,000 or more: "omha" is Omaha, "helo" is no Hilo),
  - or, anywhere, when it is one word that is no familiar word, of six letters or more or last in
    the message, and a slip or two from a city of 100,000 or more ("dv shelter chicgo",
    "clinic omha").
Familiar words (common_words.txt, spaCy's stop words) are never guessed at: "rent" stays rent.
Found spans get the label CITY or STATE and, as `kb_id`, the name spelt right.
"""
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span

from resources.places.gazetteer import gazetteer
from resources.places.spelling import closest_spelling

FACTORY = "navigator_misspelt_places"
COMMON_WORDS_PATH = Path(__file__).with_name("common_words.txt")
PLACE_PREPOSITIONS = frozenset(
    {"in", "near", "around", "by", "at", "from", "outside", "nr", "round", "nearby", "closeto"})
# Two-letter state codes that are also everyday words: written in lower case in the middle of a
# sentence they are the word ("boise in the morning", "she's not ok"), not the state. The other
# codes ("madison wi grief counseling", "springfield mo rehab") are the state wherever they stand.
WORDLIKE_STATE_CODES = frozenset({"in", "or", "me", "ok", "hi", "oh", "la", "pa", "ma", "al", "co", "id", "de", "md"})
# Words that may stand around a place in a message that is otherwise only the place
# ("i'm in omha right now", "near bosie please").
PLACE_FILLERS = PLACE_PREPOSITIONS | frozenset({
    "im", "i'm", "'m", "m", "am", "we're", "'re", "are", "is", "it", "its", "it's", "'s", "my", "our",
    "the", "of", "to", "close", "right", "here", "just", "now", "rn", "currently", "live", "living", "stay",
    "staying", "located", "based", "area", "city", "town", "county", "zip", "code", "please", "pls", "plz",
    "thanks", "thx", "ty", "ok", "okay", "um", "uh", "still"})
_BEING_SOMEWHERE = frozenset({"'m", "m", "am", "'re", "re", "are", "live", "stay", "staying", "living", "was"})


def is_place_filler(token) -> bool:
    """Whether a word may stand beside a place in a message that is only the place: "im in",
    "near", "please"; "i" and "we" only when they say where someone is ("i'm", "we live")."""
    if token.lower_ in ("i", "we"):
        following = token.nbor(1).lower_ if token.i + 1 < len(token.doc) else ""
        return following in _BEING_SOMEWHERE
    return token.lower_ in PLACE_FILLERS
MAX_WINDOW = 3
BIG_CITY = 100_000


@lru_cache(maxsize=1)
def common_words() -> frozenset:
    lines = COMMON_WORDS_PATH.read_text().splitlines()
    return frozenset(w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))


@Language.factory(FACTORY)
def make_misspelt_places(nlp: Language, name: str):
    return MisspeltPlaces()


class MisspeltPlaces:
    """Adds CITY / STATE entities for misspelt place names, the right spelling as `kb_id`."""

    def __init__(self):
        common_words()
        closest_spelling("warm")  # build the spelling index now, not on a first message

    def __call__(self, doc: Doc) -> Doc:
        doc.ents = find_misspelt_places(doc)
        return doc


def find_misspelt_places(doc: Doc) -> List[Span]:
    """All entities after this component: the ruler's, and misspelt places in the words left over.

    A window may swallow a whole town the ruler found when a misspelt word follows it: "council
    blufs" is Council Bluffs, not Council, Idaho.
    """
    owner = {i: ent for ent in doc.ents for i in range(ent.start, ent.end)}
    kept = {ent.start: ent for ent in doc.ents}
    start = 0
    while start < len(doc):
        span = None
        for size in range(min(MAX_WINDOW, len(doc) - start), 0, -1):
            span = _guess(doc, start, start + size, owner)
            if span is not None:
                break
        if span is None:
            start += 1
            continue
        for i in range(span.start, span.end):
            kept.pop(owner[i].start, None) if i in owner else None
        kept[span.start] = span
        start = span.end
    return [kept[i] for i in sorted(kept)]


def _guess(doc: Doc, start: int, end: int, owner: Dict[int, Span]) -> Optional[Span]:
    tokens = doc[start:end]
    if not all(t.is_alpha for t in tokens):
        return None
    covered = {owner[i] for i in range(start, end) if i in owner}
    if any(ent.start < start or ent.end > end or ent.label_ != "CITY" for ent in covered):
        return None  # a window never cuts a span in two, nor swallows a ZIP or a state
    if covered and not any(not _familiar(t) for t in tokens if t.i not in owner):
        return None  # only a town the ruler found already, and familiar words
    unknown = [t for t in tokens if not _familiar(t)]
    if any(len(t) < 2 for t in unknown):
        return None  # a lone letter ("she's" -> "she" + "s") is no slip of a place name
    if not unknown or _familiar(tokens[0]) and len(tokens) > 1 and tokens[0].is_stop:
        return None
    state = _state_after(doc, end)
    text = " ".join(t.lower_ for t in tokens)
    if state is not None:
        spelling = closest_spelling(text, state) or closest_spelling(text)  # "bosie, or": a wrong state
    elif after_place_preposition(doc, start):
        spelling = closest_spelling(text)
    elif _nearly_alone(doc, start, end):
        spelling = closest_spelling(text)
        if spelling and len(text) < 6 and spelling.kind == "city" and spelling.population < BIG_CITY:
            spelling = None  # a short word sent alone ("helo", "hola") is rarely a small town
    elif len(tokens) == 1 and (len(text) >= 6 or _last_word(doc, end)) or len(tokens) > 1 and _last_word(doc, end):
        # one long word, or the message's last words ("...can it get cleared? las vagas"): a big city only
        spelling = closest_spelling(text)
        if spelling and (spelling.kind != "city" or spelling.population < BIG_CITY):
            spelling = None
    else:
        spelling = None
    if spelling is None:
        return None
    return Span(doc, start, end, label="STATE" if spelling.kind == "state" else "CITY", kb_id=spelling.name)


def _familiar(token) -> bool:
    return token.is_stop or token.lower_ in common_words() or gazetteer().state_code(token.text) is not None


def after_place_preposition(doc: Doc, start: int) -> bool:
    """Whether "in", "near", "close to"... comes right before token `start`."""
    if start == 0:
        return False
    previous = doc[start - 1].lower_
    if previous == "to" and start > 1:
        previous = doc[start - 2].lower_ + "to"
    return previous in PLACE_PREPOSITIONS


def _last_word(doc: Doc, end: int) -> bool:
    """Whether only punctuation follows: "mental health clinic omha" names the place last."""
    return all(t.is_punct for t in doc[end:])


def _nearly_alone(doc: Doc, start: int, end: int) -> bool:
    others = [t for t in doc if not (start <= t.i < end) and not t.is_punct]
    return all(is_place_filler(t) for t in others)


def _state_after(doc: Doc, end: int) -> Optional[str]:
    """The code of a state named right after the window ("omha ne", "bosie, idaho"), else None."""
    gaz = gazetteer()
    i = end + 1 if end < len(doc) and doc[end].text == "," else end
    for size in (2, 1):
        if i + size > len(doc):
            continue
        words = doc[i:i + size]
        code = gaz.state_code(words.text)
        if not code:
            continue
        if size == 1 and words.text in WORDLIKE_STATE_CODES and i + 1 < len(doc) and not doc[i + 1].is_punct:
            continue  # "omha in the morning": a lower-case "in" mid-sentence is no state
        return code
    return None
