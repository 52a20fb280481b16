"""The trained half of emergency detection: a classifier that catches the phrasings the reviewed
lexicon (`safety_lexicon.yml`) has no pattern for.

Features: character and word n-grams of the normalised message (idioms blanked out by the
lexicon's guards first), plus a sentence embedding (`bot.nlp.sentence_encoder`, all-MiniLM-L6-v2
in NumPy) so that meaning, not only spelling, carries over to words nobody wrote down. Trained at
set-up (seconds; scikit-learn, which Rasa already ships) from the labelled messages in
`safety_data/` — written for the project by people who never saw the lexicon — plus the ordinary
conversation examples of the NLU training data (`bot/data/nlu*.yml`), and saved to
`build/safety_model.joblib`. Two models: is this an emergency at all, and if so which first
number (self_harm -> 988; danger, medical -> 911).

The first is an average of three probabilities (`_Detector`): the logistic regression, and two
nearest-neighbour scores (how much closer the message is to the K nearest training emergencies
than to the K nearest ordinary messages), one over the sentence vectors and one over the tf-idf
n-grams. In leave-one-author-out validation over the eleven training files of the time, the
average ranked every author's messages better than the regression alone (docs/safety-detection.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import joblib
import numpy as np
import scipy.sparse as sp
import yaml
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_union
from sklearn.preprocessing import normalize

from bot.dialogue import INTENT_EMERGENCY
from bot.nlp.sentence_encoder import sentence_encoder
from infra.config import BUILD_DIR

DATA_DIR = Path(__file__).with_name("safety_data")
MODEL_PATH = BUILD_DIR / "safety_model.joblib"
# Chosen by leave-one-author-out validation over the thirteen files of safety_data/ (each trained
# with the other twelve and the NLU examples, as deployed; `benchmarks/safety/evaluate.py --cv`):
# the lowest threshold whose pooled false alarms stay within 5 %. Lexicon or P >= 0.45 catches
# 0.980 of an unseen author's emergencies with 4.7 % false alarms (0.40: 0.985 / 5.3 %; 0.60:
# 0.959 / 3.8 %). Never tuned on a held-out set.
DEFAULT_THRESHOLD = 0.45
EMBEDDING_WEIGHT = 2.0  # scale of the unit-length sentence vector beside the tf-idf features
# The encoder layers whose mean-pooled outputs make the sentence vector (side by side, unit length
# together): layers 2 to 6 rank emergencies better than the last layer alone for every one of the
# nine authors in leave-one-author-out validation, at the same cost (docs/safety-detection.md).
EMBEDDING_LAYERS = (2, 3, 4, 5, 6)
NEIGHBOURS = 5  # K of the nearest-neighbour scores


@dataclass(frozen=True)
class LabelledMessage:
    text: str
    category: Optional[str]  # danger / self_harm / medical; None for an ordinary message
    source: Optional[str] = None  # the author's file (or "nlu"): neighbours from it are not "unseen"


def read_labelled(paths: Sequence[Path]) -> List[LabelledMessage]:
    """Messages from YAML files shaped `{emergency: [{text, category}], ordinary: [{text}]}`."""
    messages: List[LabelledMessage] = []
    for path in paths:
        data = yaml.safe_load(Path(path).read_text()) or {}
        messages += [LabelledMessage(m["text"], m["category"], Path(path).stem) for m in data.get("emergency") or []]
        messages += [LabelledMessage(m["text"], None, Path(path).stem) for m in data.get("ordinary") or []]
    return messages


def training_files() -> List[Path]:
    return sorted(DATA_DIR.glob("*.yml"))


NLU_DATA_DIR = DATA_DIR.parents[1] / "data"
_ANNOTATION = re.compile(r"\[([^\]]*)\](\{[^}]*\}|\([^)]*\))")


def conversation_examples(data_dir: Path = NLU_DATA_DIR) -> List[LabelledMessage]:
    """The NLU training examples of every intent but `emergency`, as ordinary messages: the short
    replies of a conversation ("more", "skip", a town's name) must never read as an emergency."""
    messages = []
    for path in sorted(data_dir.glob("nlu*.yml")):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            if not block.get("intent") or block["intent"] == INTENT_EMERGENCY:
                continue
            for line in (block.get("examples") or "").splitlines():
                text = _ANNOTATION.sub(r"\1", line.strip().lstrip("-").strip())
                if text:
                    messages.append(LabelledMessage(text, None, "nlu"))
    return messages


def _text_features():
    return make_union(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
    )


@dataclass(frozen=True)
class Features:
    """One message as the models see it."""

    text: str  # normalised, idioms blanked out
    embedding: "object"  # unit vector of the original message (EMBEDDING_LAYERS x 384)


def featurise(texts: Sequence[str], raw_texts: Sequence[str], encoder=None) -> List[Features]:

    vectors = (encoder or sentence_encoder()).encode(list(raw_texts), layers=EMBEDDING_LAYERS)
    return [Features(t, v) for t, v in zip(texts, vectors)]


class _Classifier:
    """tf-idf n-grams + sentence embedding -> logistic regression."""

    def __init__(self) -> None:
        self.ngrams = _text_features()
        self.model = LogisticRegression(C=4, class_weight="balanced", max_iter=3000)

    def _matrix(self, features: Sequence[Features], fit: bool = False, grams=None):
        texts = [f.text for f in features]
        if grams is None:
            grams = self.ngrams.fit_transform(texts) if fit else self.ngrams.transform(texts)
        dense = np.vstack([f.embedding for f in features]) * EMBEDDING_WEIGHT
        return sp.hstack([grams, sp.csr_matrix(dense)]).tocsr()

    def fit(self, features: Sequence[Features], labels: Sequence) -> "_Classifier":
        self.model.fit(self._matrix(features, fit=True), list(labels))
        return self

    def predict_proba(self, features: Sequence[Features], grams=None):
        return self.model.predict_proba(self._matrix(features, grams=grams))

    def predict(self, features: Sequence[Features]):
        return self.model.predict(self._matrix(features))


class _NeighbourScore:
    """How much closer a message is to the emergencies than to the ordinary messages it was trained
    on: mean cosine similarity to the K nearest emergencies minus to the K nearest ordinary ones,
    as a probability (a logistic fit of that difference, computed for each training message
    against the other authors' files only, so that it is calibrated as for an unseen author)."""

    def __init__(self, vectors, labels, groups) -> None:
        # unit rows, so cosine = dot product; kept transposed (dense array, or sparse CSR) for speed
        self.transposed = vectors.T.tocsr() if sp.issparse(vectors) else np.ascontiguousarray(vectors.T)
        self.labels = np.asarray(labels, dtype=bool)
        groups = np.unique(np.asarray(groups, dtype=object), return_inverse=True)[1]  # authors as ints: fast ==
        own = np.empty(len(groups))
        for start in range(0, len(groups), 1000):  # blocks: memory stays small
            rows = slice(start, start + 1000)
            own[rows] = self._difference(self._similarities(vectors[rows]),
                                         exclude=groups[rows][:, None] == groups[None, :])
        calibration = LogisticRegression(C=100).fit(own[:, None], self.labels)
        self.slope, self.intercept = float(calibration.coef_[0, 0]), float(calibration.intercept_[0])

    def _similarities(self, queries):
        product = queries @ self.transposed
        return np.asarray(product.toarray() if sp.issparse(product) else product, dtype=np.float64)

    def _difference(self, similarities, exclude=None):
        if exclude is not None:
            similarities = np.where(exclude, -np.inf, similarities)
        nearest = []
        for side in (self.labels, ~self.labels):
            part = similarities[:, side]
            nearest.append(-np.partition(-part, NEIGHBOURS - 1, axis=1)[:, :NEIGHBOURS].mean(axis=1))
        return nearest[0] - nearest[1]

    def probability(self, queries):
        return expit(self.slope * self._difference(self._similarities(queries)) + self.intercept)


class _Detector:
    """P(emergency): the average of three probabilities that rank an unseen author's messages better
    together than any one alone (leave-one-author-out, docs/safety-detection.md): the logistic
    regression of `_Classifier`, and the nearest-neighbour scores over the sentence vectors and over
    the tf-idf n-grams."""

    def __init__(self) -> None:
        self.classifier = _Classifier()

    def fit(self, features: Sequence[Features], labels: Sequence[int], groups: Sequence) -> "_Detector":
        self.classifier.fit(features, labels)
        grams = normalize(self.classifier.ngrams.transform([f.text for f in features]))
        self.by_meaning = _NeighbourScore(np.vstack([f.embedding for f in features]).astype(np.float32),
                                          labels, groups)
        self.by_spelling = _NeighbourScore(grams.tocsr(), labels, groups)
        return self

    def probabilities(self, features: Sequence[Features]):
        grams = self.classifier.ngrams.transform([f.text for f in features])
        vectors = np.vstack([f.embedding for f in features]).astype(np.float32)
        return (self.classifier.predict_proba(features, grams)[:, 1] + self.by_meaning.probability(vectors)
                + self.by_spelling.probability(normalize(grams))) / 3


@dataclass
class SafetyModel:
    detector: _Detector  # P(emergency)
    categoriser: _Classifier  # danger / self_harm / medical

    def probability(self, features: Features) -> float:
        return float(self.detector.probabilities([features])[0])

    def category(self, features: Features) -> str:
        return str(self.categoriser.predict([features])[0])


def train(messages: Sequence[LabelledMessage], prepare) -> SafetyModel:
    """Fit both models; `prepare(text)` gives the normalised, guarded text used at run time too."""
    features = featurise([prepare(m.text) for m in messages], [m.text for m in messages])
    return train_on(features, messages)


def train_on(features: Sequence[Features], messages: Sequence[LabelledMessage]) -> SafetyModel:
    """Both models from messages already featurised (`featurise`)."""
    labels = [int(m.category is not None) for m in messages]
    # Messages without a source count as their own author (no neighbour from their own file).
    groups = [m.source if m.source is not None else f"#{i}" for i, m in enumerate(messages)]
    detector = _Detector().fit(features, labels, groups)
    emergencies = [(f, m.category) for f, m in zip(features, messages) if m.category]
    categoriser = _Classifier().fit([f for f, _ in emergencies], [c for _, c in emergencies])
    return SafetyModel(detector, categoriser)


def build(text_of: Callable[[str], str], path: Path = MODEL_PATH) -> Tuple[Path, int]:
    """Train on every file in safety_data/ and save the model; returns (path, number of messages).
    `text_of` is what the model reads of a message (`safety.classifier_text`: the lexicon's
    normalisation and guards), passed in because the lexicon's module imports this one."""
    messages = read_labelled(training_files()) + conversation_examples()
    model = train(messages, text_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    joblib.dump(model, tmp)
    tmp.replace(path)
    return path, len(messages)


@lru_cache(maxsize=1)
def load(path: Path = MODEL_PATH) -> Optional[SafetyModel]:
    """The trained model, or None when set-up has not built it (the lexicon still works alone)."""
    return joblib.load(path) if path.exists() else None
