"""NLU component: the place a survivor names, as one `place` entity with a canonical value.

The project's spaCy pipeline (`bot.nlp.pipeline`) tags every span that could be a town, state or
ZIP code. Many US towns are also everyday words ("Hope", "Mobile", "Why"), so this component keeps
a town only when the message really uses it as a place, joins a town with the state after it
("boise id", "Omaha, NE"), and resolves the result with the offline gazetteer so the dialogue gets
one value it can search with: "Boise, ID", "68102", "Idaho". Misspelt names come from the
pipeline already corrected (the span's `kb_id`). A town named without its state whose name is
shared by other towns of some size keeps the bare name ("Springfield"): the dialogue then picks
the one where services are (bot.actions.where) and offers the others.
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

from bot.dialogue import ENTITY_PLACE

# Importing bot.nlp.misspellings also registers the spaCy component that SpacyNLP's pipeline uses.
from bot.nlp.misspellings import (
    PLACE_PREPOSITIONS,
    WORDLIKE_STATE_CODES,
    after_place_preposition,
    common_words,
    is_place_filler,
)
from resources.places.gazetteer import gazetteer, name_key
from resources.places.geocode import BIG_CITY, town, town_choices

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
# Countries that are also small US towns (Mexico, MO; Peru, IN): without a state, the country.
COUNTRIES = {"mexico", "canada", "peru", "cuba", "lebanon", "jordan", "poland", "china", "norway", "denmark",
             "belgium", "wales", "scotland", "ireland", "holland", "panama", "chile", "brazil", "honduras",
             "guatemala", "colombia", "jamaica", "haiti", "russia", "moscow", "paris", "london", "berlin",
             "athens", "rome", "dublin", "vienna", "cairo", "manila", "delhi", "toronto", "vancouver"}
# What people search for, written right after a town at the start of a message ("charlotte legal
# aid", "phoenix AA meetings"): the town is then the place even when it is also a name.
SERVICE_WORDS = {"shelter", "shelters", "housing", "rehab", "detox", "treatment", "therapy", "therapist",
                 "counseling", "counselling", "counselor", "counselors", "legal", "lawyer", "lawyers", "attorney",
                 "aa", "na", "meetings", "methadone", "suboxone", "clinic", "help", "resources", "services",
                 "grief", "support", "dv", "mental", "substance", "-", ":"}
# Words after which a capitalised two-letter code is a thing, not a state ("my ID", "an OR").
DETERMINERS = {"my", "your", "his", "her", "their", "our", "its", "a", "an", "the", "no", "any", "this", "that"}
# Prepositions too loose to make an everyday word a town ("sleeping from couch to couch", "at home").
LOOSE_PREPOSITIONS = {"from", "by", "at"}
_STATE_AFTER = re.compile(r"^\s*,?\s*([A-Za-z][A-Za-z .]*)")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class PlaceEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds a `place` entity for each real place in the message ("Omaha, NE", "68102", "Idaho",
    or a shared town name without its state: "Springfield")."""

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
    ents = list(doc.ents)
    entities: List[Dict[Text, Any]] = []
    consumed_until = -1
    for index, ent in enumerate(ents):
        if ent.start_char < consumed_until:
            continue
        entity = _resolve(doc, ents, index)
        if entity:
            entities.append(entity)
            consumed_until = entity["end"]
    return entities


def town_value(name: Text) -> Optional[Text]:
    """The entity value for a town named without its state: "Omaha, NE" when the name is clear,
    the bare name ("Springfield") when several towns of a size worth asking about share it, so
    the dialogue can choose one by where its services are (bot.actions.where)."""
    choices = town_choices(name)
    if not choices:
        return None
    return choices[0].name if len(choices) > 1 else choices[0].label


def _resolve(doc, ents, index: int) -> Optional[Dict[Text, Any]]:
    ent = ents[index]
    start, end = ent.start_char, ent.end_char
    if ent.label_ == "ZIP":
        place = gazetteer().zip(ent.text[:5])
        return _entity(place.zip, start, end) if place else None
    misspelt = bool(ent.kb_id_)
    name = ent.kb_id_ or ent.text
    if ent.label_ == "STATE":
        if ent.text == "LA":  # alone, "LA" is Los Angeles far more often than Louisiana
            value = town_value("la")
            return _entity(value, start, end) if value else None
        code = gazetteer().state_code(name)
        usable = misspelt or len(ent.text) > 2 or (ent.text.isupper() and not _after_determiner(doc, ent)
                                                  and (ent.text.lower() not in WORDLIKE_STATE_CODES
                                                       or after_place_preposition(doc, ent.start)))
        return _entity(gazetteer().state(code).label, start, end) if code and usable else None
    # CITY, perhaps followed by its state ("boise id", "Omaha, Nebraska", "omha nebrska").
    code = gazetteer().state_code(name)
    if code and len(name) > 2 and gazetteer().population(name) < BIG_CITY:
        return _entity(gazetteer().state(code).label, start, end)  # Nebraska the state, not Nebraska, IN
    after = _state_after(doc, ents, index)
    if after:
        state_end, code = after
        place = town(name, code)
        if place:
            return _entity(place.label, start, state_end)
    if not misspelt and not _used_as_place(doc, ent):
        return None
    if name_key(name) in COUNTRIES:
        return None  # "move her to mexico": the country, not Mexico, MO
    value = town_value(name)
    return _entity(value, start, end) if value else None


def _state_after(doc, ents, index: int) -> Optional[Tuple[int, str]]:
    """(end offset, code) of a state named right after a town, else None.

    A lower-case two-letter code ("in", "or", "me") counts only at the end of a clause.
    """
    text = doc.text
    end = ents[index].end_char
    following = ents[index + 1] if index + 1 < len(ents) else None
    if following is not None and following.label_ == "STATE" and not text[end:following.start_char].strip(" ,"):
        code = gazetteer().state_code(following.kb_id_ or following.text)
        if code:
            return following.end_char, code
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
        if candidate in WORDLIKE_STATE_CODES and text[offset:].strip()[:1].isalnum():
            continue
        return offset, code
    return None


def _after_determiner(doc, ent) -> bool:
    """Whether a word like "my" or "the" comes right before: "still has my ID" is a card, not Idaho."""
    return ent.start > 0 and doc[ent.start - 1].lower_ in DETERMINERS


def _used_as_place(doc, ent) -> bool:
    """Whether a lone town name is meant as a place, not as an everyday word or a person's name."""
    if len(ent) > 1 and not all(t.is_stop for t in ent):
        return True
    previous = doc[ent.start - 1].lower_ if ent.start > 0 else ""
    key = name_key(ent.text)
    everyday = key in EVERYDAY_WORDS or key in common_words()
    if previous in PLACE_PREPOSITIONS and not (everyday and previous in LOOSE_PREPOSITIONS):
        return True  # "in hope", "near mobile"; but "from couch to couch", "at home" stay words
    if ent.start == 0 and ent.end < len(doc) and doc[ent.end].lower_ in SERVICE_WORDS:
        return True  # "charlotte legal aid eviction", "cleveland - any free counseling"
    other_words = [t for t in doc if not (ent.start <= t.i < ent.end) and not t.is_punct]
    if all(is_place_filler(t) for t in other_words) and key not in common_words():
        return True  # the message is little more than the place, e.g. an answer to "where?"
    if key in EVERYDAY_WORDS or key in common_words() or any(t.is_stop for t in ent):
        # "a green card", "i hope", "okay", "price?": ordinary words stay words unless "in"
        # or "near" comes before them; sent alone after "where?", the dialogue geocodes them.
        return False
    return gazetteer().population(ent.text) >= MIN_POPULATION_WITHOUT_CONTEXT


def _entity(value: Text, start: int, end: int) -> Dict[Text, Any]:
    return {"entity": ENTITY_PLACE, "value": value, "start": start, "end": end, "confidence": 1.0}
