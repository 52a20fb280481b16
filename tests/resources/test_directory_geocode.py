"""Offline geocoding of what a person types as a place."""
from resources.places.geocode import geocode


def test_zip_code_gives_that_zip():
    place = geocode("83702")
    assert (place.kind, place.zip, place.name, place.state) == ("zip", "83702", "Boise", "ID")
    assert abs(place.lat - 43.6) < 0.2 and abs(place.lon + 116.2) < 0.2


def test_zip_plus_four_and_zip_in_a_sentence():
    assert geocode("68102-1234").zip == "68102"
    assert geocode("near 68102 please").zip == "68102"


def test_city_alone_in_any_case():
    for text in ("Boise", "boise", "BOISE"):
        place = geocode(text)
        assert (place.kind, place.name, place.state) == ("city", "Boise", "ID"), text


def test_city_with_state_code_or_name_with_or_without_comma():
    for text in ("Omaha, NE", "omaha ne", "Omaha Nebraska", "omaha, nebraska"):
        place = geocode(text)
        assert (place.name, place.state) == ("Omaha", "NE"), text
    assert geocode("Omaha, NE").label == "Omaha, NE"


def test_ambiguous_name_is_the_most_populous_unless_a_state_is_given():
    assert geocode("Portland").state == "OR"
    assert geocode("Portland, ME").state == "ME"
    assert geocode("portland maine").state == "ME"
    assert geocode("Springfield").population > geocode("Springfield, IL").population


def test_unknown_or_empty_text_is_none():
    assert geocode("Xyzzyville") is None
    assert geocode("") is None
    assert geocode("99999") is None
