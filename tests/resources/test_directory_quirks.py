"""The quirks of real exports, on the Miami 211 export (HSDS 1.x, 4,089 services) and on a small
fictional 1.x export that has each of them: padded fields, "9:00am" times, prose-only hours, missing
coordinates, URLs without a scheme, free-text languages, rows that link to nothing, a listed file
that is absent; and re-imports that must update, not pile up."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from infra.db import Base, make_engine, session_scope
from resources.importers.hsds_import import import_hsds
from resources.models import Address, Language, Location, LocationGeocode, Schedule, Service, ServiceKind
from resources.places.gazetteer import gazetteer
from resources.search.nearby import search_near
from resources.stats import directory_stats

MONDAY_NOON_MIAMI = datetime(2024, 5, 6, 16, 0, tzinfo=timezone.utc)  # 12:00 in Miami (EDT)


@pytest.fixture(scope="module")
def miami(tmp_path_factory):
    from tests.helpers import HSDS_DATA

    folder = HSDS_DATA / "miami-211-hsds1"
    if not folder.is_dir():
        pytest.skip("../shared/data/hsds is absent")
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('miami')}/miami.db")
    Base.metadata.create_all(engine)
    report = import_hsds(folder, engine)
    yield engine, report
    engine.dispose()


def test_miami_imports_every_service_with_kinds(miami):
    engine, report = miami
    assert report.imported["service"] == 4089 and report.imported["location"] == 4089
    with session_scope(engine) as s:
        stats = directory_stats(s)
    assert stats["services"] == stats["active_services"] == 4089  # its status column is empty: taken as active
    assert all(n > 50 for n in stats["by_kind"].values()), stats["by_kind"]
    assert stats["by_tag"]["trafficking"] >= 30 and stats["by_tag"]["confidential_location"] >= 5
    # its datapackage keeps the template's name, so the export is known by its folder's
    assert stats["by_dataset"]["miami-211-hsds1"]["services"] == 4089
    assert any("leaves every status empty" in n for n in report.notes)


def test_miami_padded_fields_are_trimmed(miami):
    with session_scope(miami[0]) as s:
        address = s.get(Address, "136")
    assert (address.state_province, address.country, address.postal_code) == ("FL", None, "33157")


def test_miami_am_pm_times_become_structured_hours(miami):
    with session_scope(miami[0]) as s:
        rows = s.execute(select(Schedule.byday, Schedule.opens_at, Schedule.closes_at, Schedule.notes)
                         .where(Schedule.service_id == "136").order_by(Schedule.id)).all()
    assert [r.byday for r in rows] == ["MO", "TU", "WE", "TH", "FR"]
    assert {(r.opens_at, r.closes_at) for r in rows} == {("09:00", "17:00")}  # from "9:00am", "5:00pm"
    assert rows[0].notes == "9:00am-5:00pm, Mon-Fri"  # the original text is kept


def test_miami_prose_only_hours_are_kept_and_shown(miami):
    with session_scope(miami[0]) as s:
        descriptions = set(s.execute(select(Schedule.description).where(Schedule.service_id == "7444")).scalars())
        assert descriptions == {"9:00am-12:00pm; 1:00pm-4:00pm, Mon-Fri"}
        from resources.search.nearby import _describe, _Hit
        [result] = _describe(s, "mental_health", [_Hit(1.0, "7444", "7444", "7444", "America/New_York")],
                             MONDAY_NOON_MIAMI)
    assert result.hours == "9:00am-12:00pm; 1:00pm-4:00pm, Mon-Fri"
    assert result.open_now is None  # words only: not claimed open or closed


def test_miami_missing_coordinates_are_geocoded_offline_from_the_zip(miami):
    engine, report = miami
    assert report.geocoded["zip"] > 1500
    with session_scope(engine) as s:
        location = s.get(Location, "136")
        record = s.get(LocationGeocode, "136")
    zip_centre = gazetteer().zip("33157")
    assert (location.latitude, location.longitude) == (zip_centre.lat, zip_centre.lon)
    assert (record.method, record.query) == ("zip", "33157")


def test_miami_urls_without_scheme_get_one(miami):
    with session_scope(miami[0]) as s:
        assert s.get(Service, "136").url == "https://www.girlscoutsfl.org"
    assert any("'releasethesilence' is not a web address" in w for w in miami[1].warnings)


def test_miami_free_text_languages_get_codes_and_keep_the_text(miami):
    with session_scope(miami[0]) as s:
        limited = s.execute(select(Language.name, Language.code, Language.note)
                            .where(Language.service_id == "2075")).all()
        codes = dict(s.execute(select(Language.code, func.count()).group_by(Language.code)).all())
    assert ("Spanish", "es", "Spanish (limited)") in limited
    assert codes["es"] > 3000 and codes["ht"] > 1000  # "Creole" is Haitian Creole in US directories
    assert codes[None] > 0  # "other languages available upon request": kept, without a code


def test_miami_rows_that_link_to_nothing_and_absent_files_are_reported(miami):
    report = miami[1]
    unlinked = [s for s in report.skipped if s.table == "eligibility"]
    assert len(unlinked) == 2244 and unlinked[0].reason == "no service_id: the row links to no service"
    assert unlinked[0].source == "eligibility.csv line 2"
    assert any("contacts.csv (contact), but the file is absent" in n for n in report.notes)


def test_miami_search_finds_a_dv_shelter_without_its_address(miami):
    with session_scope(miami[0]) as s:
        results = search_near(s, "shelter", "Miami, FL", limit=10, tags=["domestic_violence"])
    assert results and all(r.address is None and r.confidential_location for r in results
                           if "SAFESPACE" in r.name)
    assert any("SAFESPACE" in r.name for r in results)


# --- a small fictional HSDS 1.1 export with every quirk -------------------------------------------

def write(folder, name, text):
    (folder / name).write_text(text.strip() + "\n")


@pytest.fixture
def quirky(tmp_path):
    folder = tmp_path / "quirky"
    folder.mkdir()
    (folder / "datapackage.json").write_text(
        '{"name": "quirky-211", "resources": [{"name": "organization", "path": "organizations.csv"},'
        ' {"name": "service", "path": "services.csv"}, {"name": "contact", "path": "contacts.csv"}]}')
    write(folder, "organizations.csv", "id,name,url\n1,  Lakeside Outreach  ,lakeside.example.org/help")
    write(folder, "services.csv", "id,organization_id,name,description,url,status,fees\n"
                                  "10,1, Lakeside Counseling ,Counseling for survivors,WWW.LAKESIDE.EXAMPLE.ORG,,Sliding scale\n"
                                  "11,1,Lakeside Legal Clinic,Free legal help,,,")
    write(folder, "locations.csv", "id,organization_id,name,latitude,longitude\n"
                                   "20,1,Downtown,,\n21,1,Riverside,,\n22,1,Nowhere,,")
    write(folder, "services_at_location.csv", "id,service_id,location_id\n30,10,20\n31,11,21\n32,11,22")
    write(folder, "physical_addresses.csv", "id,location_id,address_1,city,state_province,postal_code,country\n"
                                            "40,20, 5 Lake St ,Boise, ID ,83702-1234,   \n"
                                            "41,21,9 River Rd,Omaha,NE,,US\n42,22,1 Nowhere,Xyzzyville,ZZ,,US")
    write(folder, "phones.csv", "id,service_id,number\n50,10,(208) 555-0150\n51,11,(402) 555-0151\n52,,(000) 000")
    write(folder, "regular_schedules.csv", "id,service_id,weekday,opens_at,closes_at,original_text\n"
                                           ",10,Monday,9:00am,5:00pm,\"9:00am-5:00pm, Mon\"\n"
                                           ",10,Tuesday,9:00am,5:00pm,\"9:00am-5:00pm, Tue\"\n"
                                           ",11,Wednesday,,,By appointment: call first")
    write(folder, "languages.csv", "id,service_id,location_id,language\n"
                                   "10,10,,English and Spanish\n10,10,,Creole (limited)\n,11,,Interpreters available")
    write(folder, "eligibility.csv", "id,service_id,eligibility\n,,Adults\n60,10,Ages 18 and older")
    return folder


def test_quirky_export_imports_with_every_quirk_handled(engine, quirky):
    report = import_hsds(quirky, engine)
    assert report.format == "HSDS 1.x CSV"
    assert any("contacts.csv (contact), but the file is absent" in n for n in report.notes)
    skipped = {(s.table, s.reason) for s in report.skipped}
    assert ("eligibility", "no service_id: the row links to no service") in skipped
    assert any(s.table == "phone" and s.row_id == "52" for s in report.skipped)  # links to nothing
    with session_scope(engine) as s:
        counseling = s.get(Service, "10")
        assert counseling.name == "Lakeside Counseling" and counseling.status == "active"
        assert counseling.url == "https://WWW.LAKESIDE.EXAMPLE.ORG"
        assert (counseling.minimum_age, counseling.maximum_age) == (18, None)  # from "Ages 18 and older"
        languages = s.execute(select(Language.code, Language.note).where(Language.service_id == "10")
                              .order_by(Language.code)).all()
        assert languages == [("en", "English and Spanish"), ("es", "English and Spanish"),
                             ("ht", "Creole (limited)")]
        boise = gazetteer().zip("83702")
        downtown = s.get(Location, "20")
        assert (downtown.latitude, downtown.longitude) == (boise.lat, boise.lon)  # ZIP+4 read as its ZIP
        assert s.get(LocationGeocode, "21").method == "city"  # no ZIP: Omaha's centre
        assert s.get(Location, "22").latitude is None  # nowhere known: not searchable
        counseling_result = search_near(s, "mental_health", "Boise", now=datetime(2024, 5, 6, 16, tzinfo=timezone.utc))[0]
        legal_result = search_near(s, "legal", "Omaha, NE")[0]
    assert counseling_result.hours == "Mon, Tue 9:00-17:00" and counseling_result.open_now is True
    assert "free_or_sliding_scale" in counseling_result.tags
    assert legal_result.hours == "By appointment: call first"
    assert report.geocoded == {"zip": 1, "city": 1, "none": 1}


def test_reimport_updates_generated_rows_and_removes_stale_ones(engine, quirky):
    import_hsds(quirky, engine)
    write(quirky, "regular_schedules.csv", "id,service_id,weekday,opens_at,closes_at\n,10,Friday,10am,2pm")
    write(quirky, "languages.csv", "id,service_id,location_id,language\n10,10,,Spanish")
    report = import_hsds(quirky, engine)
    assert report.inserted["service"] == 0 and report.updated["service"] == 2
    with session_scope(engine) as s:
        hours = s.execute(select(Schedule.byday, Schedule.opens_at, Schedule.closes_at)
                          .where(Schedule.service_id == "10")).all()
        assert hours == [("FR", "10:00", "14:00")]
        assert s.execute(select(Schedule).where(Schedule.service_id == "11")).all() == []
        assert list(s.execute(select(Language.code).where(Language.service_id == "10")).scalars()) == ["es"]


def test_id_prefix_keeps_two_exports_with_the_same_numbers_apart(engine, quirky, tmp_path):
    import_hsds(quirky, engine)
    other = tmp_path / "other"
    other.mkdir()
    write(other, "services.csv", "id,name,status\n10,Other County Shelter,active")
    report = import_hsds(other, engine)
    assert any("same id as rows imported from 'quirky-211'" in w for w in report.warnings)
    import_hsds(quirky, engine)
    report = import_hsds(other, engine, id_prefix="other:")
    assert not report.warnings
    with session_scope(engine) as s:
        names = dict(s.execute(select(Service.id, Service.name)).all())
    assert names["10"] == "Lakeside Counseling" and names["other:10"] == "Other County Shelter"


def test_reimport_of_an_unchanged_export_changes_nothing_visible(engine, quirky):
    import_hsds(quirky, engine)
    with session_scope(engine) as s:
        before = directory_stats(s)
        kinds = s.execute(select(ServiceKind.service_id, ServiceKind.kind, ServiceKind.reason)
                          .order_by(ServiceKind.service_id)).all()
    import_hsds(quirky, engine)
    with session_scope(engine) as s:
        assert directory_stats(s) == before
        assert s.execute(select(ServiceKind.service_id, ServiceKind.kind, ServiceKind.reason)
                         .order_by(ServiceKind.service_id)).all() == kinds
