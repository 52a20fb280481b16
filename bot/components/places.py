"""NLU component: the place a survivor names, as one `place` entity with a canonical value.

The project's spaCy pipeline (`bot.nlp.pipeline`) tags every span that could be a town, state or
ZIP code. Many US towns are also everyday words ("Hope", "Mobile", "Why"), so this component keeps
a town only when the message really uses it as a place, joins a town with the state after it
("boise id", "Omaha, NE"), and resolves the result with the offline geocoder so the dialogue gets
one value it can search with: "Boise, ID", "68102", "Idaho".
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from resources.gazetteer import gazetteer, name_key
from resources.geocode import geocode

PLACE_ENTITY = "place"
PLACE_PREPOSITIONS = {"in", "near", "around", "by", "at", "from", "outside", "to", "of", "nr", "round"}
# Towns named like everyday words: a place only after "in"/"near"…, next to a state, or alone.
EVERYDAY_WORDS = {
    "hope", "mobile", "normal", "reading", "why", "help", "home", "safe", "independence", "liberty",
    "victoria", "friendship", "justice", "center", "mission", "joy", "love", "faith", "grace",
    "unity", "harmony", "welcome", "bath", "mercy", "orange", "lafayette", "commerce", "industry",
    "enterprise", "progress", "opportunity", "success", "plenty", "paradise", "eden", "sandy",
    "buffalo", "eagle", "phoenix", "mesa", "surprise", "cleveland", "jackson", "madison", "troy",
    "florence", "lincoln", "franklin", "warren", "marion", "clinton", "washington", "austin",
    "tyler", "chase", "bell", "gay", "kent", "lawrence", "logan", "mason", "murray", "taylor",
    "pearl", "ruby", "sharon", "columbus", "charlotte", "alexandria", "chester", "dover", "eugene",
    "fairfield", "greenville", "hamilton", "salem", "springfield", "wilson", "bristol", "canton",
    "carmel", "midland", "richmond", "rochester", "temple", "ventura", "vista", "beach",
}
MIN_POPULATION_WITHOUT_CONTEXT = 10_000
_STATE_AFTER = re.compile(r"^\s*,?\s*([A-Za-z][A-Za-z .]*)")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class PlaceEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds a `place` entity (canonical value) for each real place in the message."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "PlaceEntityExtractor":
        gazetteer()  # load once when the model loads, not on the first survivor's message
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            if doc is None:
                continue
            found = self.add_extractor_name(places_in_doc(doc))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages


def places_in_doc(doc) -> List[Dict[Text, Any]]:
    """Place entities (Rasa entity dicts) for the CITY / STATE / ZIP spans of a spaCy doc."""
    text = doc.text
    entities: List[Dict[Text, Any]] = []
    consumed_until = -1
    for ent in doc.ents:
        if ent.start_char < consumed_until:
            continue
        entity = _resolve(doc, ent, text)
        if entity:
            entities.append(entity)
            consumed_until = entity["end"]
    return entities


def _resolve(doc, ent, text: str) -> Optional[Dict[Text, Any]]:
    start, end = ent.start_char, ent.end_char
    if ent.label_ == "ZIP":
        place = gazetteer().zip(ent.text[:5])
        return _entity(place.zip, start, end) if place else None
    if ent.label_ == "STATE":
        place = geocode(ent.text) if len(ent.text) > 2 or ent.text.isupper() else None
        return _entity(place.label, start, end) if place else None
    # CITY, perhaps followed by its state ("boise id", "Omaha, Nebraska").
    after = _state_after(text, end)
    if after:
        state_end, code = after
        place = gazetteer().city(ent.text, code)
        if place:
            return _entity(place.label, start, state_end)
    if not _used_as_place(doc, ent):
        return None
    place = geocode(ent.text)
    return _entity(place.label, start, end) if place and place.kind == "city" else None


def _state_after(text: str, end: int) -> Optional[Tuple[int, str]]:
    """(end offset, code) of a state named right after a town, else None.

    A lower-case two-letter code ("in", "or", "me") counts only at the end of a clause.
    """
    match = _STATE_AFTER.match(text[end:])
    if not match:
        return None
    words = match.group(1).split()
    for size in (2, 1):
        if len(words) < size:
            continue
        candidate = " ".join(words[:size]).rstrip(".")
        code = gazetteer().state_code(candidate)
        if not code:
            continue
        offset = text.lower().find(candidate.lower(), end) + len(candidate)
        if len(candidate) == 2 and candidate.islower() and text[offset:].strip()[:1].isalnum():
            continue
        return offset, code
    return None


def _used_as_place(doc, ent) -> bool:
    """Whether a lone town name is meant as a place, not as an everyday word or a person's name."""
    if len(ent) > 1 and not all(t.is_stop for t in ent):
        return True
    previous = doc[ent.start - 1].lower_ if ent.start > 0 else ""
    if previous in PLACE_PREPOSITIONS:
        return True
    other_words = [t for t in doc if not (ent.start <= t.i < ent.end) and not t.is_punct]
    if all(t.is_stop or t.lower_ in {"please", "pls", "area", "thanks"} for t in other_words):
        return True  # the message is little more than the place, e.g. an answer to "where?"
    key = name_key(ent.text)
    if key in EVERYDAY_WORDS or any(t.is_stop for t in ent):
        return False
    return gazetteer().population(ent.text) >= MIN_POPULATION_WITHOUT_CONTEXT


def _entity(value: Text, start: int, end: int) -> Dict[Text, Any]:
    return {"entity": PLACE_ENTITY, "value": value, "start": start, "end": end, "confidence": 1.0}
