"""The held-out sets that `make eval` reports emergency detection on stay held out: none of their
messages is also a training message (of the classifier, or an NLU example it learns as ordinary),
and each is big enough for the figures of issue 5 to mean something."""
import pytest
import yaml

from benchmarks.nlu.evaluate import normalise
from benchmarks.safety.evaluate import HELDOUT_FILES
from bot.components.safety_model import conversation_examples, read_labelled, training_files

CATEGORIES = {"danger", "self_harm", "medical"}


def test_there_is_a_held_out_set():
    assert HELDOUT_FILES


@pytest.mark.parametrize("path", HELDOUT_FILES, ids=[p.name for p in HELDOUT_FILES])
def test_no_held_out_message_is_a_training_message(path):
    trained = {normalise(m.text) for m in read_labelled(training_files()) + conversation_examples()}
    copied = [m.text for m in read_labelled([path]) if normalise(m.text) in trained]
    assert copied == []


@pytest.mark.parametrize("path", HELDOUT_FILES, ids=[p.name for p in HELDOUT_FILES])
def test_held_out_set_has_150_of_each_label_and_known_categories(path):
    data = yaml.safe_load(path.read_text())
    assert len(data["emergency"]) >= 150 and len(data["ordinary"]) >= 150
    assert {m["category"] for m in data["emergency"]} == CATEGORIES
