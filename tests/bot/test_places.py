"""The place recogniser (spaCy pipeline + bot.components.places): towns, states and ZIP codes as
people type them (any case, misspelt, with or without the state), everyday words that only look
like towns, and same-named towns left for the dialogue to choose."""
import pytest
import yaml

from bot.components.places import places_in_doc
from bot.nlp.misspellings import common_words
from infra.config import ROOT
from resources.places.geocode import geocode
from resources.places.spelling import closest_spelling


def places(nlp, text):
    return [e["value"] for e in places_in_doc(nlp(text))]


@pytest.mark.parametrize("text, expected", [
    ("I need a shelter in Boise", ["Boise, ID"]),
    ("counseling near 83702", ["83702"]),
    ("Omaha, NE", ["Omaha, NE"]),
    ("omaha nebraska", ["Omaha, NE"]),
    ("OMAHA NE", ["Omaha, NE"]),
    ("boise id", ["Boise, ID"]),
    ("free legal help in omaha", ["Omaha, NE"]),
    ("St. Louis please", ["St. Louis, MO"]),
    ("st louis", ["St. Louis, MO"]),
    ("ft worth", ["Fort Worth, TX"]),
    ("im in jackson ms", ["Jackson, MS"]),
    ("Springfield, MA", ["Springfield, MA"]),
    ("nyc", ["New York, NY"]),
    ("in LA", ["Los Angeles, CA"]),
    ("New Orleans, LA", ["New Orleans, LA"]),
    ("Can you help me in Texas", ["Texas"]),
    ("shelters in nebraska", ["Nebraska"]),
    ("68102", ["68102"]),
    ("my zip is 68102-1234", ["68102"]),
    ("i'm in san antonio tx", ["San Antonio, TX"]),
    ("near council bluffs", ["Council Bluffs, IA"]),  # a neighbouring town of Omaha
    ("staying in papillion", ["Papillion, NE"]),
])
def test_recognises_places_in_common_forms(nlp, text, expected):
    assert places(nlp, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("omha", ["Omaha, NE"]),
    ("bosie", ["Boise, ID"]),
    ("chicgo", ["Chicago, IL"]),
    ("shelter in omha", ["Omaha, NE"]),
    ("dv shelter chicgo", ["Chicago, IL"]),
    ("rehab clinic bosie", ["Boise, ID"]),  # a short slip, but last in the message
    ("omha ne", ["Omaha, NE"]),
    ("omaha nebrska", ["Omaha, NE"]),
    ("near council blufs", ["Council Bluffs, IA"]),
    ("los angelas", ["Los Angeles, CA"]),
    ("pittsburg pa", ["Pittsburgh, PA"]),  # Pittsburg is in CA and KS; in PA it is Pittsburgh
    ("papilion ne", ["Papillion, NE"]),  # small towns too, once the state narrows it
    ("therapy in pheonix", ["Phoenix, AZ"]),
    ("rehab near albequerque", ["Albuquerque, NM"]),
    ("i live in idahoe", ["Idaho"]),
    ("can my record be cleared? las vagas", ["Las Vegas, NV"]),  # a big city's two words, last
])
def test_recognises_common_misspellings(nlp, text, expected):
    assert places(nlp, text) == expected


@pytest.mark.parametrize("text", [
    "my mobile is dying",
    "i hope you can help",
    "i hope so",
    "I need a lawyer",
    "somewhere safe to stay tonight",
    "Why is this so hard",
    "jackson said no",
    "my phone is about to die",
    "i need help with rent",  # one slip from Reno
    "i'm at work",  # one slip from York
    "help getting a green card",  # Green, Ohio
    "i'm in a mess",  # Mesa
    "in the winter i sleep in my car",  # Winder, GA
    "i cant stay in that house",
    "i got kicked out in march",  # Marco Island
])
def test_everyday_words_are_not_places(nlp, text):
    assert places(nlp, text) == []


def test_a_town_named_like_an_everyday_word_is_a_place_only_after_in_or_near(nlp):
    # "Hope" alone may be a feeling; the dialogue reads it as a town when it asked "where?"
    # (tests/bot/test_find_help_actions.py). After "in", it is the town.
    assert places(nlp, "Hope") == []
    assert places(nlp, "okay") == []
    assert places(nlp, "price?") == []
    assert places(nlp, "i'm in hope") == ["Hope"]
    assert geocode("Hope").label == "Hope, AR"
    assert places(nlp, "Hope, AR") == ["Hope, AR"]


def test_a_shared_town_name_without_a_state_is_left_for_the_dialogue_to_choose(nlp):
    # Springfield MO, MA and IL are of a size: the dialogue picks by where services are.
    assert places(nlp, "shelter in springfield") == ["Springfield"]
    assert places(nlp, "shelter in springfield il") == ["Springfield, IL"]
    # Omaha, TX and Omaha, GA are far too small to matter beside Omaha, NE.
    assert places(nlp, "shelter in omaha") == ["Omaha, NE"]


def test_lower_case_state_code_inside_a_sentence_is_not_a_state(nlp):
    assert places(nlp, "boise in the morning") == ["Boise, ID"]


def test_entity_offsets_cover_the_place_text(nlp):
    text = "shelter near Omaha, NE please"
    (entity,) = places_in_doc(nlp(text))
    assert text[entity["start"]:entity["end"]] == "Omaha, NE"
    misspelt = "need a bed in omha ne"
    (entity,) = places_in_doc(nlp(misspelt))
    assert misspelt[entity["start"]:entity["end"]] == "omha ne"


def test_the_spelling_index_finds_slips_but_not_other_words():
    assert closest_spelling("cincinatti").name == "Cincinnati"  # two slips in a long name
    assert closest_spelling("tuscon").name == "Tucson"  # swapped letters count as one
    assert closest_spelling("xyzzyville") is None
    assert closest_spelling("ohama") is None  # the first letter is never guessed
    assert closest_spelling("kuna", "ID").name == "Kuna"


def _training_examples():
    for path in (ROOT / "bot" / "data").glob("*.yml"):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            if "intent" not in block or block["intent"] == "inform_place":
                continue  # lookups, and the place answers themselves
            for line in (block.get("examples") or "").splitlines():
                line = line.strip()[2:].strip()
                if line:
                    yield block["intent"], line


def test_no_training_example_gets_a_place_it_does_not_name(nlp):
    """Requests for help name towns on purpose; nothing else does, and no everyday word is a town."""
    wrong = []
    for intent, text in _training_examples():
        found = places_in_doc(nlp(text))
        if found and not intent.startswith("need_"):
            wrong.append((intent, text, [e["value"] for e in found]))
        for entity in found:
            if text[entity["start"]:entity["end"]].lower() in common_words():
                wrong.append((intent, text, entity["value"]))
    assert wrong == []


def test_a_capitalised_code_after_my_or_the_is_a_thing_not_a_state(nlp):
    assert places(nlp, "my boss still has my ID, I live in Boise") == ["Boise, ID"]
    assert places(nlp, "they took the ID cards") == []
    assert places(nlp, "im in ID") == ["Idaho"]


@pytest.mark.parametrize("text, expected", [
    ("madison wi grief counseling", ["Madison, WI"]),  # "wi" is no word: the state, mid-sentence too
    ("springfield mo rehab for teens", ["Springfield, MO"]),
    ("charlotte legal aid eviction", ["Charlotte, NC"]),  # a name-like town, then what is searched for
    ("phoenix AA meetings tonight", ["Phoenix, AZ"]),
])
def test_a_town_at_the_start_of_a_search_is_the_place(nlp, text, expected):
    assert places(nlp, text) == expected


@pytest.mark.parametrize("text", [
    "shes not ok, she barely eats",  # "she" "s" "not" + "ok" is not Snow, Oklahoma
    "he wants to take her to mexico",  # the country, not Mexico, MO
    "charlotte said she would help",
])
def test_words_and_countries_are_not_us_towns(nlp, text):
    assert places(nlp, text) == []
