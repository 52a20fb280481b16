"""Emergency signals on every message, whatever the dialogue is doing.

A trained intent alone misses rare phrasings and can be outvoted by the words around them, so this
component runs after the intent classifiers and overrides their verdict with `emergency` when the
curated lexicon (`safety_lexicon.yml`, reviewed as data) finds danger, self-harm or a medical
emergency. It also adds a `danger_type` entity (self_harm / danger / medical) that decides whether
the survivor hears 988 or 911 first.

Below the emergency threshold but near it (the classifier's probability at least CHECK_THRESHOLD),
the message is answered as usual and a `safety_check` entity asks the answer to name 911 and 988
once in the conversation (bot/actions/notices.py), without opening a handoff: a danger the
classifier was not sure of still meets the numbers, at the cost of one line on a few ordinary
messages (docs/safety-detection.md).

A message can be both an emergency and a request ("i cant go home hes there", "shelter in denver,
he is hitting me"). When the classifiers were confident it asked for a kind of help, that kind is
kept as a `service_kind` entity, so the emergency answer comes with the help asked for (CONTRACT:
a safety note may come with results, never instead of them).
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
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components import safety_model
from bot.components.intents import set_intent
from bot.components.safety_model import DEFAULT_THRESHOLD
from bot.dialogue import ENTITY_DANGER_TYPE, ENTITY_SERVICE_KIND, INTENT_EMERGENCY, KIND_INTENTS, MARK_SAFETY_CHECK
from bot.nlp.sentence_encoder import sentence_encoder

# Chosen by leave-one-author-out validation, not on a held-out set: at 0.3, 99 % of the
# emergencies of an unseen author get 911 / 988 named, as an emergency or as this check
# (thirteen authors, 2026-11-27; 7.7 % of their ordinary messages get the line or a handoff).
CHECK_THRESHOLD = 0.3

LEXICON_PATH = Path(__file__).with_name("safety_lexicon.yml")
# How sure the intent classifiers must have been of a kind of help for an emergency to keep it.
MIN_KIND_CONFIDENCE = 0.6
CATEGORIES = ("self_harm", "danger", "medical")  # order = precedence when several match
# Texting shorthand and contractions that spaCy's norms leave alone.
_NORMS = {"'s": "is", "’s": "is", "s": "is", "im": "i am", "m": "am", "r": "are", "u": "you", "ur": "your",
          "wanna": "want to", "gonna": "going to", "gotta": "got to", "tryna": "trying to",
          "n't": "not", "nt": "not", "'m": "am", "'re": "are", "'ll": "will", "'d": "would",
          "hes": "he is", "shes": "she is", "theyre": "they are", "ive": "i have", "ill": "i will",
          "bf": "boyfriend", "gf": "girlfriend", "rn": "right now", "pls": "please", "plz": "please",
          "tmrw": "tomorrow", "tmr": "tomorrow", "tonite": "tonight", "thru": "through", "cuz": "because",
          "bc": "because", "b4": "before", "2nite": "tonight", "n": "and", "ppl": "people",
          "wont": "will not", "cant": "can not", "dont": "do not", "didnt": "did not", "isnt": "is not",
          "doesnt": "does not", "wouldnt": "would not", "aint": "is not", "whats": "what is",
          "w": "with", "w/": "with", "someones": "someone is", "theres": "there is"}


@dataclass(frozen=True)
class SafetySignal:
    """What the lexicon found: the category and the pattern that matched (for the advocate)."""

    category: str
    pattern: str


@dataclass(frozen=True)
class Category:
    patterns: List["re.Pattern[str]"]
    vetoes: List[str]


@dataclass(frozen=True)
class Lexicon:
    guards: List["re.Pattern[str]"]
    contexts: Dict[str, List["re.Pattern[str]"]]
    categories: Dict[str, Category]


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    data = yaml.safe_load(path.read_text())
    word_sets = expand_word_sets(data.get("sets") or {}, data.get("irregular") or {})

    def compile_all(patterns) -> List["re.Pattern[str]"]:
        return [re.compile(_fill_sets(p, word_sets, path)) for p in patterns or []]

    contexts = {name: compile_all(patterns) for name, patterns in (data.get("contexts") or {}).items()}
    categories = {}
    for name in CATEGORIES:
        spec = data[name]
        unknown = set(spec.get("vetoes") or []) - set(contexts)
        if unknown:
            raise ValueError(f"{path.name}: {name} vetoes unknown contexts {sorted(unknown)}")
        categories[name] = Category(compile_all(spec.get("patterns")), list(spec.get("vetoes") or []))
    return Lexicon(compile_all(data.get("guards")), contexts, categories)


def expand_word_sets(sets: Dict[str, List[str]], irregular: Dict[str, List[str]]) -> Dict[str, str]:
    """Each word set as one regex alternation; sets named `*_verbs` get every inflected form."""
    expanded = {}
    for name, words in sets.items():
        forms = set()
        for word in words:
            word = str(word)
            forms.update(inflect(word, irregular) if name.endswith("_verbs") else [word])
        ordered = sorted(forms, key=lambda w: (-len(w), w))  # longest first: "beat up" before "beat"
        expanded[name] = "(?:" + "|".join(re.escape(w) for w in ordered) + ")"
    return expanded


def inflect(verb: str, irregular: Dict[str, List[str]]) -> List[str]:
    """A verb (or phrasal verb) and its -s, past and -ing forms: "grab" -> grabs, grabbed, ..."""
    if verb in irregular:
        return [verb, *irregular[verb]]
    head, _, rest = verb.partition(" ")
    tail = f" {rest}" if rest else ""
    if head in irregular:
        return [verb] + [f"{form}{tail}" for form in irregular[head]]
    if head.endswith("e"):
        forms = [head + "s", head + "d", head[:-1] + "ing"]
    elif head.endswith("y") and head[-2:-1] not in "aeiou":
        forms = [head[:-1] + "ies", head[:-1] + "ied", head + "ing"]
    elif head.endswith(("s", "sh", "ch", "x", "z")):
        forms = [head + "es", head + "ed", head + "ing"]
    else:
        forms = [head + "s", head + "ed", head + "ing"]
    return [verb] + [f"{form}{tail}" for form in forms]


def _fill_sets(pattern: str, word_sets: Dict[str, str], path: Path) -> str:
    def replace(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in word_sets:
            raise ValueError(f"{path.name}: pattern uses unknown word set {{{name}}}: {pattern}")
        return word_sets[name]

    return re.sub(r"\{([a-z_]+)\}", replace, pattern)


def normalise(tokens: List[Any]) -> str:
    """Lower-cased text from spaCy tokens' norms, shorthand expanded, quotes straightened."""
    words = []
    for token in tokens:
        norm = token.norm_.replace("’", "'")
        words.append(_NORMS.get(norm, norm))
    return re.sub(r"\s+", " ", " ".join(words)).strip().lower().replace(" ?", "?")


def normalise_text(text: str) -> str:
    return normalise(list(_tokenizer()(text)))


def without_guarded_phrases(normalised: str, lexicon: Optional[Lexicon] = None) -> str:
    """The normalised message with everyday idioms and negations ("not suicidal") blanked out."""
    for guard in (lexicon or load_lexicon()).guards:
        normalised = guard.sub(" ", normalised)
    return re.sub(r"\s+", " ", normalised).strip()


def classifier_text(text: str) -> str:
    """What the trained model reads: the same normalisation and guards as the lexicon."""
    return without_guarded_phrases(normalise_text(text))


def build_model(path=safety_model.MODEL_PATH):
    """Train and save the emergency classifier (set-up): it reads messages as `classifier_text` does."""
    return safety_model.build(classifier_text, path)


def lexicon_signal(normalised: str, lexicon: Optional[Lexicon] = None) -> Optional[SafetySignal]:
    """What the reviewed lexicon finds in a normalised message, or None."""
    lexicon = lexicon or load_lexicon()
    return _lexicon_signal_in(without_guarded_phrases(normalised, lexicon), lexicon)


def _lexicon_signal_in(normalised: str, lexicon: Lexicon) -> Optional[SafetySignal]:
    """The lexicon's verdict on a message whose guarded phrases are already blanked out."""
    in_context = {name: any(p.search(normalised) for p in patterns) for name, patterns in lexicon.contexts.items()}
    happening_now = in_context.get("present", False)
    for name in CATEGORIES:
        category = lexicon.categories[name]
        if not happening_now and any(in_context.get(veto) for veto in category.vetoes):
            continue
        for pattern in category.patterns:
            if pattern.search(normalised):
                return SafetySignal(name, pattern.pattern)
    return None


@dataclass(frozen=True)
class Assessment:
    """An emergency (`signal`), or none but near one (`check`: the category to name numbers for), or neither."""

    signal: Optional[SafetySignal] = None
    check: Optional[str] = None


def assess(text: str, doc=None, lexicon: Optional[Lexicon] = None, model: Any = "default",
           threshold: float = DEFAULT_THRESHOLD, check_threshold: float = CHECK_THRESHOLD) -> Assessment:
    """The lexicon first, then the trained model: an emergency at `threshold`, a safety check
    from `check_threshold`. `doc` is the message's spaCy doc when one is at hand; `model=None`
    uses the lexicon alone."""
    lexicon = lexicon or load_lexicon()
    guarded = without_guarded_phrases(normalise(list(doc if doc is not None else _tokenizer()(text))), lexicon)
    signal = _lexicon_signal_in(guarded, lexicon)
    if signal is not None:
        return Assessment(signal)
    model = safety_model.load() if model == "default" else model
    if model is None:
        return Assessment()
    features = safety_model.featurise([guarded], [text])[0]
    probability = model.probability(features)
    if probability >= threshold:
        return Assessment(SafetySignal(model.category(features), f"model p={probability:.2f}"))
    if probability >= check_threshold:
        return Assessment(check=model.category(features))
    return Assessment()


def detect(text: str, doc=None, lexicon: Optional[Lexicon] = None, model: Any = "default",
           threshold: float = DEFAULT_THRESHOLD) -> Optional[SafetySignal]:
    """The emergency signal in a message, or None (see `assess`)."""
    return assess(text, doc, lexicon, model, threshold).signal


@lru_cache(maxsize=1)
def _tokenizer():
    import spacy  # 4 s to import: loaded only when a message is assessed without a Rasa spaCy doc

    return spacy.blank("en")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class SafetySignalClassifier(GraphComponent):
    """Sets intent `emergency` (confidence 1.0) and a `danger_type` entity on lexicon matches."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, check_threshold: float = CHECK_THRESHOLD) -> None:
        self.threshold = threshold
        self.check_threshold = min(check_threshold, threshold)

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"threshold": DEFAULT_THRESHOLD, "check_threshold": CHECK_THRESHOLD}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SafetySignalClassifier":
        load_lexicon()
        if safety_model.load() is not None:  # at start-up, not on a survivor's first message
            sentence_encoder()
        return cls(float(config.get("threshold", DEFAULT_THRESHOLD)),
                   float(config.get("check_threshold", CHECK_THRESHOLD)))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            assessment = assess(text, message.get(SPACY_DOCS[TEXT]), threshold=self.threshold,
                                check_threshold=self.check_threshold)
            signal = assessment.signal
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if signal is None and intent != INTENT_EMERGENCY:
                if assessment.check:  # answered as usual, with 911 / 988 named once (notices.py)
                    message.set(ENTITIES, message.get(ENTITIES, []) + [
                        self._entity(MARK_SAFETY_CHECK, assessment.check, text)], add_to_output=True)
                continue
            category = signal.category if signal else "danger"
            entities = [self._entity(ENTITY_DANGER_TYPE, category, text)]
            kind = requested_kind(message.get(INTENT) or {})
            if kind:
                entities.append(self._entity(ENTITY_SERVICE_KIND, kind, text))
            if signal:
                set_intent(message, INTENT_EMERGENCY)
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

    def _entity(self, name: Text, value: Text, text: Text) -> Dict[Text, Any]:
        return {"entity": name, "value": value, "start": 0, "end": len(text), "confidence": 1.0,
                "extractor": self.__class__.__name__}


def requested_kind(intent: Dict[Text, Any]) -> Optional[Text]:
    """The kind of help the intent classifiers were confident a message asks for, or None."""
    kind = KIND_INTENTS.get(intent.get(INTENT_NAME_KEY) or "")
    if kind and float(intent.get("confidence") or 0.0) >= MIN_KIND_CONFIDENCE:
        return kind
    return None
