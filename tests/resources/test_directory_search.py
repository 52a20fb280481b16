"""The one search: kind, active status, coordinates, nearest first, widening radius, result fields."""
import pytest

from navigator.db import session_scope
from resources.kinds import UnknownKindError
from resources.search import MAX_RADIUS_KM, UnknownPlaceError, search_near, search_services

KM_PER_DEG_LAT = 111.195
HOME = (40.0, -100.0)


def north(km: float) -> tuple[float, float]:
    """A point `km` due north of HOME."""
    return HOME[0] + km / KM_PER_DEG_LAT, HOME[1]


def names(engine, kind, place, **kw):
    with session_scope(engine) as s:
        return [r.name for r in search_services(s, kind, place, **kw)]


def test_nearest_first_with_distances(engine, directory, at):
    directory.add("Far", *north(30))
    directory.add("Near", *north(2))
    directory.add("Middle", *north(12))
    with session_scope(engine) as s:
        results = search_services(s, "shelter", at(*HOME), limit=3)
    assert [r.name for r in results] == ["Near", "Middle", "Far"]
    assert [r.distance_km for r in results] == [2.0, 12.0, 30.0]


def test_inactive_services_are_never_returned_even_when_nearest(engine, directory, at):
    directory.add("Closed Shelter", *north(1), status="inactive")
    directory.add("Paused Shelter", *north(2), status="temporarily closed")
    directory.add("Open Shelter", *north(20))
    assert names(engine, "shelter", at(*HOME), limit=5) == ["Open Shelter"]


def test_only_the_kind_asked_for(engine, directory, at):
    directory.add("Law Office", *north(1), kind="legal")
    directory.add("House", *north(5), kind="shelter")
    assert names(engine, "shelter", at(*HOME)) == ["House"]
    assert names(engine, "legal", at(*HOME)) == ["Law Office"]
    assert names(engine, "substance_use", at(*HOME)) == []


def test_limit_and_offset_page_through_in_order(engine, directory, at):
    for km in (1, 2, 3, 4, 5):
        directory.add(f"S{km}", *north(km))
    assert names(engine, "shelter", at(*HOME), limit=2) == ["S1", "S2"]
    assert names(engine, "shelter", at(*HOME), limit=2, offset=2) == ["S3", "S4"]
    assert names(engine, "shelter", at(*HOME), limit=2, offset=4) == ["S5"]


def test_radius_widens_to_find_far_services_but_stops_at_the_maximum(engine, directory, at):
    directory.add("Too Far", *north(MAX_RADIUS_KM + 40))
    directory.add("Far But Reachable", *north(300))
    directory.add("Close", *north(10))
    assert names(engine, "shelter", at(*HOME), limit=3) == ["Close", "Far But Reachable"]


def test_services_without_coordinates_are_not_found(engine, directory, at):
    directory.add("Nowhere", None, None)
    directory.add("Somewhere", *north(3))
    assert names(engine, "shelter", at(*HOME)) == ["Somewhere"]


def test_service_with_several_locations_appears_once_at_its_nearest(engine, directory, at):
    directory.add("Chain", *north(80), extra_locations=(north(4),))
    directory.add("Other", *north(10))
    with session_scope(engine) as s:
        results = search_services(s, "shelter", at(*HOME), limit=5)
    assert [(r.name, r.distance_km) for r in results] == [("Chain", 4.0), ("Other", 10.0)]


def test_search_across_the_antimeridian(engine, directory, at):
    directory.add("Across the line", 52.0, -179.9)
    assert names(engine, "shelter", at(52.0, 179.9)) == ["Across the line"]


def test_no_place_gives_no_results(engine, directory):
    directory.add("House", *north(1))
    with session_scope(engine) as s:
        assert search_services(s, "shelter", None) == []


def test_unknown_kind_and_unknown_place_are_clear_errors(engine):
    with session_scope(engine) as s:
        with pytest.raises(UnknownKindError, match="unknown kind 'food'"):
            search_near(s, "food", "Boise")
        with pytest.raises(UnknownPlaceError, match="Xyzzyville"):
            search_near(s, "shelter", "Xyzzyville")


def test_phone_prefers_the_service_voice_number_over_fax_and_organization(engine, directory, at):
    directory.add("Fax Only", *north(1), phone="111-FAX", phone_type="fax", org_phone="(208) 555-0100")
    directory.add("Own Line", *north(2), phone="(208) 555-0199", org_phone="(208) 555-0000")
    with session_scope(engine) as s:
        phones = {r.name: r.phone for r in search_services(s, "shelter", at(*HOME), limit=5)}
    assert phones == {"Fax Only": "(208) 555-0100", "Own Line": "(208) 555-0199"}


def test_hours_from_days_and_times_or_from_the_description(engine, directory, at):
    directory.add("Weekdays", *north(1), byday="MO,TU,WE,TH,FR", opens_at="09:00", closes_at="17:00")
    directory.add("Always", *north(2), byday="MO,TU,WE,TH,FR,SA,SU", opens_at="00:00", closes_at="23:59")
    directory.add("Described", *north(3), hours_description="Call any time", byday="MO", opens_at="9", closes_at="5")
    directory.add("Unknown", *north(4))
    with session_scope(engine) as s:
        hours = {r.name: r.hours for r in search_services(s, "shelter", at(*HOME), limit=5)}
    assert hours == {"Weekdays": "Mon-Fri 9:00-17:00", "Always": "Open 24 hours", "Described": "Call any time",
                     "Unknown": None}


def test_confidential_shelter_hides_its_address_and_exact_distance(engine, directory, at):
    directory.add("Safe House", *north(2.34), address="1 Secret Rd", tags=("confidential_location",))
    directory.add("Public Shelter", *north(3.21), address="2 Main St")
    with session_scope(engine) as s:
        by_name = {r.name: r for r in search_services(s, "shelter", at(*HOME), limit=5)}
    assert by_name["Safe House"].address is None
    assert by_name["Safe House"].distance_km == 2.0
    assert by_name["Public Shelter"].address == "2 Main St, Town, ID 83702"
    assert by_name["Public Shelter"].distance_km == 3.2


def test_result_as_json_dict_has_the_fields_callers_show(engine, directory, at):
    directory.add("House", *north(1), phone="(208) 555-0123")
    with session_scope(engine) as s:
        data = search_services(s, "shelter", at(*HOME))[0].to_dict()
    assert {"service_id", "name", "organization_name", "phone", "distance_km", "hours", "address",
            "is_demo"} <= set(data)
    assert (data["name"], data["phone"], data["organization_name"], data["is_demo"]) == \
        ("House", "(208) 555-0123", "House Inc.", False)
