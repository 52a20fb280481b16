"""Whatever a survivor types, and whatever an operator gives `navigator search --near`, the place
parsers answer a place, "no place" (None / an empty list), or the CLI's UnknownPlaceError: never a
crash, which the survivor would see as no reply at all."""
from __future__ import annotations

import math
import random
import string
import time

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import create_engine

from bot.actions.where import Where, is_bare_town, where_to_search
from bot.channels.incoming import MAX_TEXT_CHARS  # the longest message Rasa reads
from bot.components.places import places_in_doc, town_value
from infra.config import ROOT
from resources.places.gazetteer import Place
from resources.places.geocode import geocode, geocode_address, town, town_choices
from resources.places.spelling import closest_spelling
from resources.search.nearby import UnknownPlaceError, resolve_place
from tests.property.strategies import PARSERS, PLACE_WORDS, any_text

TEXT = any_text(PLACE_WORDS)


def assert_place(place) -> None:
    assert isinstance(place, Place)
    assert place.label and math.isfinite(place.lat) and math.isfinite(place.lon)


@PARSERS
@given(TEXT)
@example("in " * 2000)
@example("a" + " " * 5000 + "b")
def test_geocode_answers_a_place_or_none(text):
    place = geocode(text)
    if place is not None:
        assert_place(place)


def test_a_long_pasted_word_is_no_place_and_answers_at_once():
    """A long word once cost the spelling guess every text two deletions away from it: 1,200
    letters took 3 s and 1 GB, 2,000 took 11 s and 4 GB, for every such message."""
    rng = random.Random(7)
    word = "".join(rng.choice(string.ascii_lowercase) for _ in range(1200))
    started = time.perf_counter()
    assert geocode(word) is None
    assert closest_spelling(word) is None and closest_spelling(word, "CA") is None
    assert time.perf_counter() - started < 1


@PARSERS
@given(TEXT)
@example("")
@example("\x00")
def test_the_cli_near_value_is_a_place_or_the_documented_error(text):
    try:
        assert_place(resolve_place(text))
    except UnknownPlaceError as error:
        assert "unknown place" in str(error)


@PARSERS
@given(TEXT, st.one_of(st.none(), st.sampled_from(["NE", "CA", "ne", "XX", "", "Nebraska"]), st.text(max_size=5)))
def test_town_lookups_answer_towns_or_nothing(name, state):
    found = town(name, state)
    if found is not None:
        assert_place(found)
    choices = town_choices(name)
    assert [p.population for p in choices] == sorted((p.population for p in choices), reverse=True)
    value = town_value(name)
    assert value is None or isinstance(value, str) and value


@PARSERS
@given(st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT))
def test_a_directory_address_without_coordinates_is_placed_or_not(postal_code, city, state):
    found = geocode_address(postal_code, city, state)
    if found is not None:
        place, method, query = found
        assert_place(place)
        assert method in ("zip", "city") and query


@PARSERS
@given(TEXT.map(lambda t: t[:MAX_TEXT_CHARS]))
@example("Springfield, in Hope MO ne")
def test_every_place_entity_of_a_message_is_a_place_the_dialogue_can_search(nlp, text):  # noqa: F811
    doc = nlp(text)
    for entity in places_in_doc(doc):
        assert entity["entity"] == "place"
        assert 0 <= entity["start"] < entity["end"] <= len(text)
        value = entity["value"]
        assert isinstance(value, str) and value
        assert geocode(value) is not None or town_choices(value), value


@pytest.fixture(scope="module")
def directory_session():
    """A session on an in-memory directory holding the San Mateo demo services."""
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import StaticPool

    from navigator.schema import create_schema
    from resources.importers.hsds_import import import_hsds

    engine = create_engine("sqlite://", future=True, poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    create_schema(engine)
    import_hsds(ROOT / "resources" / "demo" / "san_mateo", engine)
    with Session(engine, future=True) as session:
        yield session
    engine.dispose()


@PARSERS
@given(TEXT, st.sampled_from(["shelter", "mental_health", "substance_use", "legal"]))
@example("Springfield", "shelter")
@example("San Mateo", "legal")
def test_the_place_slot_resolves_to_a_point_or_none(directory_session, value, kind):
    assert isinstance(is_bare_town(value), bool)
    where = where_to_search(directory_session, value, kind)
    if where is not None:
        assert isinstance(where, Where)
        assert_place(where.place)
        for other in where.others:
            assert_place(other)
