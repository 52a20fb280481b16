"""The searches a survivor would make against the shared sample directory."""
import json

import pytest

from infra.db import session_scope
from resources.search.nearby import search_near


@pytest.mark.parametrize("kind, near, first", [
    ("shelter", "Boise", "Foothills Quiet House"),
    ("mental_health", "83702", "Greenbelt Counseling"),
    ("substance_use", "Omaha, NE", "Missouri Bend Recovery"),
    ("legal", "omaha", "Old Market Survivor Law"),
    ("shelter", "68102", "Riverfront Refuge Omaha"),
])
def test_nearest_service_of_the_kind_comes_first(sample_engine, kind, near, first):
    with session_scope(sample_engine) as s:
        results = search_near(s, kind, near, limit=3)
    assert results[0].name == first
    assert results[0].phone.startswith("(555)")


def test_inactive_sample_shelter_is_never_shown(sample_engine, shared):
    inactive = {x["name"] for x in json.loads(shared.sample_names.read_text()) if x["status"] != "active"}
    assert inactive == {"Old Boise Shelter"}
    with session_scope(sample_engine) as s:
        shown = {r.name for near in ("Boise", "83702", "Omaha") for r in search_near(s, "shelter", near, limit=50)}
    assert shown and not shown & inactive


def test_confidential_sample_shelters_have_no_address_but_other_services_do(sample_engine):
    with session_scope(sample_engine) as s:
        shelter = search_near(s, "shelter", "Boise")[0]
        legal = search_near(s, "legal", "Boise")[0]
    assert shelter.address is None and shelter.confidential_location
    assert legal.address == "105 Main Street, Boise, ID 83702"
    assert legal.hours == "Weekdays 9 to 5"


def test_boise_shelters_are_not_offered_for_omaha_when_omaha_has_one(sample_engine):
    with session_scope(sample_engine) as s:
        results = search_near(s, "shelter", "Omaha", limit=5)
    assert [r.name for r in results] == ["Riverfront Refuge Omaha"]  # Boise is ~1,700 km away
