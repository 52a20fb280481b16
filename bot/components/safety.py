"""Emergency signals on every message, whatever the dialogue is doing.

A trained intent alone misses rare phrasings and can be outvoted by the words around them, so this
component runs after the intent classifiers and overrides their verdict with `emergency` when the
curated lexicon (`safety_lexicon.yml`, reviewed as data) finds danger, self-harm or a medical
emergency. It also adds a `danger_type` entity (self_harm / danger / medical) that decides whether
the survivor hears 988 or 911 first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import (
    ENTITIES, INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

LEXICON_PATH = Path(__file__).with_name("safety_lexicon.yml")
EMERGENCY_INTENT = "emergency"
DANGER_ENTITY = "danger_type"
CATEGORIES = ("self_harm", "danger", "medical")  # order = precedence when several match
# Slang and contractions spaCy's norms leave alone.
_NORMS = {"'s": "is", "’s": "is", "im": "i am", "m": "am", "r": "are", "u": "you", "ur": "your",
          "wanna": "want to", "gonna": "going to", "gotta": "got to", "tryna": "trying to",
          "n't": "not", "'m": "am", "'re": "are", "'ll": "will", "'d": "would", "bf": "boyfriend",
          "gf": "girlfriend", "rn": "right now", "pls": "please", "plz": "please"}


@dataclass(frozen=True)
class SafetySignal:
    """What the lexicon found: the category and the pattern that matched (for the advocate)."""

    category: str
    pattern: str


@dataclass(frozen=True)
class Lexicon:
    guards: List["re.Pattern[str]"]
    past: List["re.Pattern[str]"]
    present: List["re.Pattern[str]"]
    categories: Dict[str, List["re.Pattern[str]"]]


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    data = yaml.safe_load(path.read_text())

    def compile_all(key: str) -> List["re.Pattern[str]"]:
        return [re.compile(p) for p in data.get(key) or []]

    return Lexicon(compile_all("guards"), compile_all("past"), compile_all("present"),
                   {c: compile_all(c) for c in CATEGORIES})


def normalise(tokens: List[Any]) -> str:
    """Lower-cased text from spaCy tokens' norms, slang expanded, quotes straightened."""
    words = []
    for token in tokens:
        norm = token.norm_.replace("’", "'")
        words.append(_NORMS.get(norm, norm))
    return re.sub(r"\s+", " ", " ".join(words)).strip()


def detect(text: str, doc=None, lexicon: Optional[Lexicon] = None) -> Optional[SafetySignal]:
    """The emergency signal in a message, or None. `doc` is its spaCy doc when one is at hand."""
    if doc is None:
        doc = _tokenizer()(text)
    lexicon = lexicon or load_lexicon()
    normalised = normalise(list(doc))
    for guard in lexicon.guards:
        normalised = guard.sub(" ", normalised)
    told_as_past = any(p.search(normalised) for p in lexicon.past) and not any(
        p.search(normalised) for p in lexicon.present)
    for category in CATEGORIES:
        if category == "danger" and told_as_past:
            continue
        for pattern in lexicon.categories[category]:
            if pattern.search(normalised):
                return SafetySignal(category, pattern.pattern)
    return None


@lru_cache(maxsize=1)
def _tokenizer():
    import spacy

    return spacy.blank("en")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class SafetySignalClassifier(GraphComponent):
    """Sets intent `emergency` (confidence 1.0) and a `danger_type` entity on lexicon matches."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SafetySignalClassifier":
        load_lexicon()
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            signal = detect(text, message.get(SPACY_DOCS[TEXT]))
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if signal is None and intent != EMERGENCY_INTENT:
                continue
            category = signal.category if signal else "danger"
            if signal:
                _override_intent(message)
            entity = {"entity": DANGER_ENTITY, "value": category, "start": 0, "end": len(text),
                      "confidence": 1.0, "extractor": self.__class__.__name__}
            message.set(ENTITIES, message.get(ENTITIES, []) + [entity], add_to_output=True)
        return messages


def _override_intent(message: Message) -> None:
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != EMERGENCY_INTENT]
    top = {INTENT_NAME_KEY: EMERGENCY_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, top, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [top] + ranking, add_to_output=True)
