"""NLU component: a message that is only a place ("Caldwell", "minneapolis mn", "by tucson",
"I'm in Meridian") is the answer to "where?", whatever the intent classifier made of it.

Town names are countless and most never appear in the training data, so the classifier is often
unsure of a bare town (and falls back) or even swayed by it. The place recogniser is not: when it
found a place and every other word only says where someone is ("i'm in", "near", "please"),
the intent is `inform_place`. Runs after the place recogniser and the fallback classifier, and
before the safety component, which still has the last word.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.intents import set_intent
from bot.dialogue import ENTITY_PLACE, INTENT_INFORM_PLACE
from bot.nlp.misspellings import is_place_filler


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class PlaceAnswerClassifier(GraphComponent):
    """Sets the intent `inform_place` on messages that name a place and nothing else."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "PlaceAnswerClassifier":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            doc = message.get(SPACY_DOCS[TEXT])
            places = [e for e in message.get(ENTITIES, []) if e.get("entity") == ENTITY_PLACE]
            if doc is not None and places and only_a_place(doc, places):
                set_intent(message, INTENT_INFORM_PLACE)
        return messages


def only_a_place(doc, places: List[Dict[Text, Any]]) -> bool:
    """Whether every word outside the place entities only says where someone is."""
    inside = [(e["start"], e["end"]) for e in places]
    others = [t for t in doc if not t.is_punct and not any(s <= t.idx < e for s, e in inside)]
    return all(is_place_filler(t) for t in others)
