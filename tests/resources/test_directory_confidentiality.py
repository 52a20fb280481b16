"""A DV or trafficking shelter's street address is never shown: decided from the data (tags, words)
and the operator's configuration (DIRECTORY_CONFIDENTIAL_IDS / _PUBLIC_IDS / _CONFIDENTIAL_TAGS)."""
import json

from infra.db import session_scope
from resources.search.nearby import search_services

HOME = (40.0, -100.0)


def north(km):
    return HOME[0] + km / 111.195, HOME[1]


def shown(engine, at, kind="shelter"):
    with session_scope(engine) as s:
        return {r.name: r.address for r in search_services(s, kind, at(*HOME), limit=10)}


def test_a_confidential_shelter_hides_the_address_of_everything_at_its_location(engine, directory, at):
    shelter = directory.add("Quiet House", *north(2), address="1 Secret Rd", tags=("confidential_location",))
    directory.add("Quiet House Counseling", None, None, kind="mental_health", at_location_of=shelter)
    directory.add("Public Clinic", *north(3), kind="mental_health", address="2 Main St")
    assert shown(engine, at, "mental_health") == {"Quiet House Counseling": None,
                                                  "Public Clinic": "2 Main St, Town, ID 83702"}
    with session_scope(engine) as s:
        [result] = search_services(s, "shelter", at(*HOME))
    assert result.address is None and result.confidential_location and result.distance_km == 2.0


def test_an_address_or_location_that_calls_itself_confidential_is_hidden(engine, directory, at):
    directory.add("Undisclosed Site", *north(1), kind="legal", address="Confidential location")
    assert shown(engine, at, "legal") == {"Undisclosed Site": None}


def test_operators_can_add_confidential_ids_and_tags(engine, directory, at, monkeypatch):
    own = directory.add("Agency Shelter", *north(1), address="3 Elm St")
    rape_crisis = directory.add("Rape Crisis Shelter", *north(2), address="4 Oak St", tags=("sexual_assault",))
    directory.add("Rape Crisis Legal", *north(3), kind="legal", address="5 Pine St", tags=("sexual_assault",))
    assert None not in shown(engine, at).values()
    monkeypatch.setenv("DIRECTORY_CONFIDENTIAL_IDS", f"org-{own.split('-')[1]}")  # by organization id
    monkeypatch.setenv("DIRECTORY_CONFIDENTIAL_TAGS", "sexual_assault")
    assert shown(engine, at) == {"Agency Shelter": None, "Rape Crisis Shelter": None}
    assert shown(engine, at, "legal") == {"Rape Crisis Legal": "5 Pine St, Town, ID 83702"}  # not a shelter
    assert rape_crisis


def test_operators_can_make_a_public_office_visible(engine, directory, at, monkeypatch):
    office = directory.add("DV Agency Walk-in Office", *north(1), address="6 Main St", tags=("confidential_location",))
    directory.add("DV Agency Safe House", *north(2), address="7 Hidden Ln", tags=("confidential_location",),
                  organization_of=office)
    monkeypatch.setenv("DIRECTORY_PUBLIC_IDS", office)  # the office service, not its organization
    assert shown(engine, at) == {"DV Agency Walk-in Office": "6 Main St, Town, ID 83702", "DV Agency Safe House": None}


def test_search_json_never_contains_a_confidential_address(tmp_path, monkeypatch, capsys, shared):
    from navigator.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    assert main(["import-hsds", str(shared.sample)]) == 0
    capsys.readouterr()
    assert main(["search", "--kind", "shelter", "--near", "Boise", "--json"]) == 0
    out = capsys.readouterr().out
    results = json.loads(out)
    assert results and all(r["address"] is None and r["confidential_location"] for r in results)
    assert "Main Street" not in out
