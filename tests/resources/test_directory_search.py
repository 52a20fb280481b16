"""The one search: kind, active status, coordinates, nearest first, widening radius, result fields,
filters (open now, language, age, tags, radius), and a bounded amount of work per search."""
from datetime import datetime, timezone

import pytest

from infra.db import session_scope
from resources.search.nearby import MAX_RADIUS_KM, SearchError, UnknownPlaceError, search_near, search_services
from resources.taxonomy.kinds import UnknownKindError

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


# --- filters --------------------------------------------------------------------------------------

MONDAY_1430_UTC = datetime(2024, 5, 6, 14, 30, tzinfo=timezone.utc)  # 9:30 in Kansas City, 8:30 in Denver


def test_open_now_uses_each_location_s_own_time_zone(engine, directory, at):
    directory.add("Kansas City Office", 39.10, -94.58, byday="MO,TU,WE,TH,FR", opens_at="09:00", closes_at="17:00")
    directory.add("Denver Office", 39.74, -104.99, byday="MO,TU,WE,TH,FR", opens_at="09:00", closes_at="17:00")
    with session_scope(engine) as s:
        everyone = search_services(s, "shelter", at(39.4, -99.8), limit=5, radius_km=1000, now=MONDAY_1430_UTC)
        open_now = search_services(s, "shelter", at(39.4, -99.8), limit=5, radius_km=1000, now=MONDAY_1430_UTC,
                                   open_now=True)
    assert {r.name: r.open_now for r in everyone} == {"Kansas City Office": True, "Denver Office": False}
    assert [r.name for r in open_now] == ["Kansas City Office"]


def test_open_now_keeps_24_hour_and_overnight_services_and_drops_unknown_hours(engine, directory, at):
    directory.add("Always Open", *north(1), hours_description="Open 24 hours, 7 days a week")
    directory.add("Night Shelter", *north(2), byday="SU", opens_at="19:00", closes_at="07:00")
    directory.add("Day Office", *north(3), byday="MO", opens_at="09:00", closes_at="17:00")
    directory.add("Call To Ask", *north(4), hours_description="Call for hours")
    directory.add("No Hours", *north(5))
    monday_4am_central = datetime(2024, 5, 6, 9, 0, tzinfo=timezone.utc)
    with session_scope(engine) as s:
        results = search_services(s, "shelter", at(*HOME), limit=10, open_now=True, now=monday_4am_central)
    assert [r.name for r in results] == ["Always Open", "Night Shelter"]


def test_language_filter_by_code_or_name_and_english_by_default(engine, directory, at):
    directory.add("Spanish Speaking", *north(1), languages=("en", "es"))
    directory.add("Haitian Creole Only", *north(2), languages=("ht",))
    directory.add("Lists No Language", *north(3))
    assert names(engine, "shelter", at(*HOME), limit=5, language="es") == ["Spanish Speaking"]
    assert names(engine, "shelter", at(*HOME), limit=5, language="Creole") == ["Haitian Creole Only"]
    assert names(engine, "shelter", at(*HOME), limit=5, language="English") == ["Spanish Speaking",
                                                                                "Lists No Language"]
    with session_scope(engine) as s, pytest.raises(SearchError, match="unknown language 'Klingon'"):
        search_services(s, "shelter", at(*HOME), language="Klingon")


def test_age_filter_respects_age_limits(engine, directory, at):
    directory.add("Youth Shelter", *north(1), ages=(12, 17))
    directory.add("Adult Shelter", *north(2), ages=(18, None))
    directory.add("Anyone", *north(3))
    assert names(engine, "shelter", at(*HOME), limit=5, age=16) == ["Youth Shelter", "Anyone"]
    assert names(engine, "shelter", at(*HOME), limit=5, age=30) == ["Adult Shelter", "Anyone"]


def test_tags_filter_survivor_relevant_attributes(engine, directory, at):
    directory.add("Pets And Kids", *north(1), tags=("takes_pets", "takes_children"))
    directory.add("Kids Only", *north(2), tags=("takes_children",))
    directory.add("Trafficking Shelter", *north(3), tags=("trafficking", "no_ice_contact"))
    assert names(engine, "shelter", at(*HOME), limit=5, tags=["takes_children"]) == ["Pets And Kids", "Kids Only"]
    assert names(engine, "shelter", at(*HOME), limit=5, tags=["takes_children", "takes_pets"]) == ["Pets And Kids"]
    assert names(engine, "shelter", at(*HOME), limit=5, tags=["trafficking", "no_ice_contact"]) == \
        ["Trafficking Shelter"]
    with session_scope(engine) as s:
        assert search_services(s, "shelter", at(*HOME))[0].tags == ["takes_children", "takes_pets"]
        with pytest.raises(SearchError, match="unknown tag 'unicorns'"):
            search_services(s, "shelter", at(*HOME), tags=["unicorns"])


def test_radius_limits_how_far_the_search_looks(engine, directory, at):
    directory.add("Near", *north(8))
    directory.add("Farther", *north(40))
    assert names(engine, "shelter", at(*HOME), limit=5, radius_km=20) == ["Near"]
    assert names(engine, "shelter", at(*HOME), limit=5, radius_km=50) == ["Near", "Farther"]
    with session_scope(engine) as s, pytest.raises(SearchError, match="radius"):
        search_services(s, "shelter", at(*HOME), radius_km=0)


def test_a_search_reads_only_a_bounded_page_of_the_index(engine, directory, at):
    """However many services are near, a search fetches a few index rows ordered by distance (LIMIT)
    and loads details only for the page: it never reads the directory into Python."""
    from sqlalchemy import event

    for i in range(60):
        directory.add(f"Shelter {i:02d}", *north(0.5 + i * 0.3))
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append((a[2], a[3])))
    with session_scope(engine) as s:
        results = search_services(s, "shelter", at(*HOME), limit=3)
    assert [r.name for r in results] == ["Shelter 00", "Shelter 01", "Shelter 02"]
    index_reads = [(sql, params) for sql, params in statements if "FROM search_point" in sql]
    assert index_reads and all("LIMIT" in sql for sql, _ in index_reads)
    assert all(sql.rstrip().endswith("LIMIT ? OFFSET ?") and params[-2] <= 20 for sql, params in index_reads)
    for sql, _ in statements:
        if "FROM search_point" not in sql:
            assert "WHERE" in sql and " IN (" in sql, sql  # details keyed by the page's own ids


def test_a_running_navigator_sees_a_new_import_without_a_restart(tmp_path, shared):
    """The bot and the console keep their engine for their whole life; an import from the CLI (another
    process, another engine) is seen by their next search."""
    from infra.db import Base, make_engine
    from resources.importers.hsds_import import import_hsds

    url = f"sqlite:///{tmp_path}/live.db"
    running = make_engine(url)
    Base.metadata.create_all(running)
    with session_scope(running) as s:
        assert search_near(s, "shelter", "Boise") == []
    importer = make_engine(url)
    import_hsds(shared.sample, importer)
    importer.dispose()
    with session_scope(running) as s:
        assert search_near(s, "shelter", "Boise")[0].name == "Foothills Quiet House"


def test_a_database_from_before_the_index_is_upgraded_when_the_schema_is_created(engine, shared):
    """An agency's existing database keeps finding services after an upgrade, without a re-import."""
    from sqlalchemy import text

    from navigator.schema import create_schema
    from resources.importers.hsds_import import import_hsds

    import_hsds(shared.sample, engine)
    with engine.begin() as conn:  # the index as an older version left it: another shape, and empty
        conn.execute(text("DROP TABLE search_point"))
        conn.execute(text("CREATE TABLE search_point (service_id VARCHAR(255), location_id VARCHAR(255), "
                          "kind VARCHAR(40), latitude FLOAT, longitude FLOAT)"))
        conn.execute(text("CREATE INDEX ix_search_point_box ON search_point (kind, latitude)"))
    create_schema(engine)
    with session_scope(engine) as s:
        assert search_near(s, "shelter", "Boise")[0].name == "Foothills Quiet House"
