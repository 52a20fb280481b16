"""Every real export in ../shared/data/hsds imports, in its own format: HSDS 3.0 CSV and JSON, HSDS 1.x
(Open Referral sample, Miami 211), Ohana CSV; and a fictional HSDS 2.0 export written here."""
import json

import pytest
from sqlalchemy import func, select

from infra.db import session_scope
from resources.importers.hsds_import import import_hsds
from resources.models import Address, Attribute, Language, Phone, Schedule, Service, ServiceAtLocation, ServiceKind
from resources.search.nearby import search_near
from resources.stats import directory_stats


def count(engine, model, *where) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


@pytest.mark.parametrize("folder, fmt, services", [
    ("hsds3-spec-examples/csv", "HSDS 3.0 CSV", 1),
    ("hsds3-spec-examples/json", "HSDS 3.0 JSON", 1),
    ("openreferral-sample-hsds1.1/all_resources", "HSDS 1.x CSV", 13),
    ("openreferral-sample-hsds1.1/simple", "HSDS 1.x CSV", 13),
    ("ohana-san-mateo", "Ohana CSV", 23),
])
def test_each_small_export_imports_in_its_format(engine, shared, folder, fmt, services):
    report = import_hsds(shared.hsds / folder, engine)
    assert report.format == fmt
    assert report.imported["service"] == services
    assert count(engine, Service) == services


def test_export_folders_holding_several_exports_import_all_of_them(engine, shared):
    report = import_hsds(shared.hsds / "hsds3-spec-examples", engine)
    assert report.format == "HSDS 3.0 CSV + HSDS 3.0 JSON"
    assert count(engine, Service) == 1  # the same example record, by the same id, twice
    report = import_hsds(shared.hsds / "openreferral-sample-hsds1.1", engine)
    assert count(engine, Service) == 14 and report.imported["service"] == 26


def test_json_records_are_flattened_and_linked_to_what_they_sit_in(engine, shared):
    import_hsds(shared.hsds / "hsds3-spec-examples" / "json" / "service_full.json", engine)
    with session_scope(engine) as s:
        phone = s.get(Phone, "1554f2e2-a373-45db-a3fa-9fc48a61c15e")
        assert phone.number == "+44 1234 234567" and phone.extension == "100"
        # met under the service, its service-at-location and its location: one row with every link
        assert phone.service_id == "ac148810-d857-441c-9679-408f346de14b"
        assert phone.service_at_location_id == "e94c9f38-1e8f-4564-91d4-d53501ab1765"
        assert phone.location_id == "3a19ff88-4620-4d17-9830-ac1d859eb5d5"
        attribute = s.execute(select(Attribute)).scalar_one()
        assert (attribute.link_entity, attribute.link_id) == ("service", "ac148810-d857-441c-9679-408f346de14b")
        assert s.execute(select(Language.code).where(Language.phone_id == phone.id)).scalar_one() == "ur"
        assert s.get(Service, "ac148810-d857-441c-9679-408f346de14b").organization_id == \
            "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"


def test_json_page_of_services_and_tabular_json(engine, shared):
    report = import_hsds(shared.hsds / "hsds3-spec-examples" / "json" / "service_list.json", engine)
    assert report.imported["service"] == 1 and report.imported["organization"] == 1
    report = import_hsds(shared.hsds / "hsds3-spec-examples" / "json" / "tabular.json", engine)
    assert report.imported["service"] == 1 and report.updated["service"] == 1


def test_broken_json_is_a_clear_error(engine, tmp_path):
    bad = tmp_path / "services.json"
    bad.write_text('{"contents": [{"id": "s1", "name": "x",}]}')
    from resources.importers.hsds_import import HsdsImportError
    with pytest.raises(HsdsImportError, match=r"services.json line 1: not valid JSON"):
        import_hsds(bad, engine)
    assert count(engine, Service) == 0


def test_ohana_services_get_their_location_organization_keywords_and_languages(engine, shared):
    import_hsds(shared.hsds / "ohana-san-mateo", engine)
    with session_scope(engine) as s:
        corps = s.get(Service, "14")
        assert corps.organization_id == "4"  # through its location
        assert s.execute(select(ServiceAtLocation.location_id).where(ServiceAtLocation.service_id == "14")).scalar_one() == "14"
        kinds = dict(s.execute(select(ServiceKind.kind, ServiceKind.reason).where(ServiceKind.service_id == "14")).all())
        assert "Homeless Shelter" in kinds["shelter"]  # one of its free-text keywords, matched by name
        codes = set(s.execute(select(Language.code).where(Language.location_id == "3")).scalars())
        assert {"zh", "es", "tl"} <= codes  # "Chinese (Cantonese), Chinese (Mandarin), Tagalog, Spanish"
        types = set(s.execute(select(Address.address_type).where(Address.location_id == "1")).scalars())
        assert types == {"physical", "postal"}
        opens = dict(s.execute(select(Schedule.closes_at, Schedule.opens_at).where(Schedule.service_id == "22")).all())
        assert opens["16:00"] == "14:00" and opens["15:00"] == "10:00"  # "4:00 PM", "3pm"
        search = search_near(s, "mental_health", "San Mateo, CA", limit=10)
    assert "Senior Peer Counseling" in {r.name for r in search}


def test_hsds_1_1_weekday_numbers_and_phone_language_codes(engine, shared):
    import_hsds(shared.hsds / "openreferral-sample-hsds1.1" / "all_resources", engine)
    with session_scope(engine) as s:
        days = sorted(s.execute(select(Schedule.byday).where(
            Schedule.service_id == "c89eb05c-62dd-4b64-b494-0cc347b6ea7f")).scalars())
        assert days == ["MO", "TU", "WE"]  # weekday 1, 2, 3 (ISO: 1 is Monday)
        phone_languages = set(s.execute(select(Language.code).where(
            Language.phone_id == "3733e828-58e5-4ff5-9dc6-ae24f92a0f56")).scalars())
        assert phone_languages == {"en", "es"}  # phones.language "en, es"


def write(folder, name, text):
    (folder / name).write_text(text.strip() + "\n")


@pytest.fixture
def hsds2_export(tmp_path):
    """A fictional HSDS 2.0 export (table and field names of the 2.0.1 datapackage)."""
    folder = tmp_path / "hsds2"
    folder.mkdir()
    (folder / "datapackage.json").write_text(json.dumps({"name": "river-county", "version": "2.0.1", "resources": [
        {"name": n, "path": f} for n, f in (
            ("organization", "organizations.csv"), ("service", "services.csv"), ("location", "locations.csv"),
            ("service_at_location", "services_at_location.csv"), ("physical_address", "physical_addresses.csv"),
            ("phone", "phones.csv"), ("schedule", "schedules.csv"), ("language", "languages.csv"),
            ("taxonomy_term", "taxonomy_terms.csv"), ("service_attribute", "service_attributes.csv"),
            ("funding", "funding.csv"))]}))
    write(folder, "organizations.csv", "id,name,url\no1,River County Safe Homes,riversafe.example.org")
    write(folder, "services.csv", "id,organization_id,name,description,status,fees\n"
                                  "s1,o1,Safe Homes Shelter,Emergency beds for families,active,Free")
    write(folder, "locations.csv", "id,organization_id,name,latitude,longitude\nl1,o1,Main,,")
    write(folder, "services_at_location.csv", "id,service_id,location_id\nsal1,s1,l1")
    write(folder, "physical_addresses.csv", "id,location_id,address_1,city,state_province,postal_code,country\n"
                                            "a1,l1,1 River Rd,Boise,ID ,83702,US")
    write(folder, "phones.csv", "id,service_id,number,type,language\np1,s1,(208) 555-0177,voice,\"en, es\"")
    write(folder, "schedules.csv", "id,service_id,freq,byday,opens_at,closes_at,description\n"
                                   "h1,s1,WEEKLY,\"MO,TU,WE,TH,FR,SA,SU\",00:00,23:59,")
    write(folder, "languages.csv", "id,service_id,language\nlg1,s1,Spanish")
    write(folder, "taxonomy_terms.csv", "id,term,parent_id,taxonomy\nBH-1800.1500-100,Domestic Violence Shelters,,AIRS")
    write(folder, "service_attributes.csv", "id,service_id,taxonomy_term_id\nsa1,s1,BH-1800.1500-100")
    return folder


def test_hsds_2_0_export_imports_with_its_terms_attributes_and_schedules(engine, hsds2_export):
    report = import_hsds(hsds2_export, engine)
    assert (report.format, report.dataset) == ("HSDS 2.0 CSV", "river-county")
    assert any("funding.csv (funding), but the file is absent" in n for n in report.notes)
    with session_scope(engine) as s:
        service = s.get(Service, "s1")
        assert service.fees_description == "Free"
        reason = s.execute(select(ServiceKind.reason).where(ServiceKind.service_id == "s1")).scalar_one()
        assert reason == "taxonomy BH-1800.1500-100 Domestic Violence Shelters"
        [result] = search_near(s, "shelter", "83702")
    assert result.hours == "Open 24 hours" and result.open_now is True
    assert result.address is None and result.confidential_location  # a DV shelter
    assert result.languages == ["Spanish"]
    assert {"takes_children", "free_or_sliding_scale", "domestic_violence"} <= set(result.tags)


def test_stats_show_each_export_with_its_counts_and_kinds(engine, shared, hsds2_export):
    import_hsds(shared.sample, engine)
    import_hsds(shared.hsds / "ohana-san-mateo", engine, id_prefix="ohana:")
    import_hsds(hsds2_export, engine)
    with session_scope(engine) as s:
        by_dataset = directory_stats(s)["by_dataset"]
    assert len(by_dataset) == 3 and {"ohana-san-mateo", "river-county"} <= set(by_dataset)
    assert by_dataset["ohana-san-mateo"]["services"] == 23 and by_dataset["river-county"]["services"] == 1
    assert by_dataset["river-county"]["by_kind"]["shelter"] == 1
    sample = next(v for k, v in by_dataset.items() if k not in ("ohana-san-mateo", "river-county"))
    assert sample["by_kind"] == {"shelter": 4, "mental_health": 2, "substance_use": 2, "legal": 2}
