"""The place recogniser: towns, states and ZIP codes as people type them, and everyday words
that only look like towns."""
import pytest

from bot.components.places import places_in_doc


def places(nlp, text):
    return [e["value"] for e in places_in_doc(nlp(text))]


@pytest.mark.parametrize("text, expected", [
    ("I need a shelter in Boise", ["Boise, ID"]),
    ("counseling near 83702", ["83702"]),
    ("Omaha, NE", ["Omaha, NE"]),
    ("omaha nebraska", ["Omaha, NE"]),
    ("boise id", ["Boise, ID"]),
    ("free legal help in omaha", ["Omaha, NE"]),
    ("St. Louis please", ["St. Louis, MO"]),
    ("st louis", ["St. Louis, MO"]),
    ("im in jackson ms", ["Jackson, MS"]),
    ("Springfield, MA", ["Springfield, MA"]),
    ("nyc", ["New York, NY"]),
    ("Can you help me in Texas", ["Texas"]),
    ("68102", ["68102"]),
])
def test_recognises_places_in_common_forms(nlp, text, expected):
    assert places(nlp, text) == expected


@pytest.mark.parametrize("text", [
    "my mobile is dying",
    "i hope you can help",
    "I need a lawyer",
    "somewhere safe to stay tonight",
    "Why is this so hard",
    "jackson said no",
    "my phone is about to die",
])
def test_everyday_words_are_not_places(nlp, text):
    assert places(nlp, text) == []


def test_a_lone_town_name_answering_where_is_a_place(nlp):
    # "Hope" inside a sentence is a feeling; sent alone after "where?", it is Hope, Arkansas.
    assert places(nlp, "Hope") == ["Hope, AR"]


def test_lower_case_state_code_inside_a_sentence_is_not_a_state(nlp):
    assert places(nlp, "boise in the morning") == ["Boise, ID"]


def test_entity_offsets_cover_the_place_text(nlp):
    text = "shelter near Omaha, NE please"
    (entity,) = places_in_doc(nlp(text))
    assert text[entity["start"]:entity["end"]] == "Omaha, NE"
