"""The held-out sets that `make eval` measures the NLU on stay held out, and their labels are ones
the bot can produce (so a low figure means the bot is wrong, not the label)."""
import pytest
import yaml

from benchmarks.nlu.evaluate import HELDOUT_SETS, load_heldout, normalise, training_texts
from infra.config import ROOT
from resources.places.geocode import geocode

DOMAIN_INTENTS = set(yaml.safe_load((ROOT / "domain.yml").read_text())["intents"])


@pytest.mark.parametrize("path", HELDOUT_SETS, ids=[p.name for p in HELDOUT_SETS])
def test_no_held_out_sentence_is_in_the_training_data(path):
    seen = training_texts()
    # One- and two-word messages ("hey", "68102", "boise id") are bound to meet; sentences never.
    copied = [m["text"] for m in load_heldout(path) if len(m["text"].split()) > 2 and normalise(m["text"]) in seen]
    assert copied == []


@pytest.mark.parametrize("path", HELDOUT_SETS, ids=[p.name for p in HELDOUT_SETS])
def test_labels_are_intents_of_the_domain_and_places_the_gazetteer_names_so(path):
    messages = load_heldout(path)
    assert len(messages) >= 100
    assert {m["intent"] for m in messages} <= DOMAIN_INTENTS
    for m in messages:
        if m["place"]:
            assert geocode(m["place"]).label == m["place"], m


def test_together_the_held_out_sets_have_at_least_200_messages():
    assert sum(len(load_heldout(p)) for p in HELDOUT_SETS) >= 200
