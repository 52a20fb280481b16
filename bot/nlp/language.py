"""Which language a survivor writes in, offline, from a few words: so that the advocate who
picks up a handoff knows before reading that the person wrote in Spanish (or Portuguese, or
Arabic) and can bring in a colleague or an interpreter.

Short texts defeat statistical detectors, and a wrong guess is worse than none. So this reads
only what is plain: a script that belongs to one language family (Arabic, Chinese, Japanese,
Korean, Cyrillic, Thai, Greek, Hebrew), or, in Latin script, the everyday words of each language
(`language_words.csv`: a language is added as a row of data). A Latin-script text gets a language
only when at least MIN_WORDS of its words are that language's and it clearly leads every other
(by LEAD words, or twice as many): "necesito un refugio en Boise" is Spanish; "hi" or "Boise" is nobody's (None), and the
conversation keeps the language it had.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence

WORDS_PATH = Path(__file__).with_name("language_words.csv")
MIN_WORDS = 2  # words of a language a text needs before it is said to be in it
LEAD = 2  # ... and how many more than any other language, unless it has twice as many
RECENT_MESSAGES = 10  # a conversation's language: its latest messages, together

# Scripts that name a language on their own (Unicode ranges), checked before any word.
SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana: Japanese (before Han, which Japanese also uses)
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
)
WORD = re.compile(r"[a-z']+")


@lru_cache(maxsize=1)
def language_words() -> Dict[str, FrozenSet[str]]:
    """Each language's everyday words, without accents (people often type none)."""
    with open(WORDS_PATH, newline="", encoding="utf-8") as handle:
        return {row["code"].strip(): frozenset(_plain(word) for word in row["words"].split("|") if word.strip())
                for row in csv.DictReader(handle)}


def _plain(text: str) -> str:
    """Lower case, accents dropped: "Aquí" and "aqui" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def detect(text: Optional[str]) -> Optional[str]:
    """The language of `text` (an ISO 639-1 code), or None when its words do not make it plain."""
    text = text or ""
    for code, script in SCRIPTS:
        if script.search(text):
            return code
    words = WORD.findall(_plain(text))
    scores = sorted(((sum(word in known for word in words), code) for code, known in language_words().items()),
                    reverse=True)
    (best, code), (second, _) = scores[0], scores[1]
    return code if best >= MIN_WORDS and (best >= second + LEAD or best >= 2 * second) else None


def user_texts(events: Iterable[Any]) -> List[str]:
    """What the person wrote, oldest first, from a conversation's events: Rasa's own (UserUttered)
    or the action server's (dicts with "event": "user")."""
    texts = []
    for event in events or ():
        if isinstance(event, dict):
            if event.get("event") == "user" and event.get("text"):
                texts.append(event["text"])
        elif getattr(event, "type_name", None) == "user" and getattr(event, "text", None):
            texts.append(event.text)
    return texts


def conversation_language(events: Iterable[Any], latest: Sequence[str] = ()) -> Optional[str]:
    """The language of a conversation: its latest messages (and `latest`, a message not yet in
    the events) read together, so that a few short messages add up to a plain answer."""
    texts = [*user_texts(events), *latest][-RECENT_MESSAGES:]
    return detect(" ".join(texts))
