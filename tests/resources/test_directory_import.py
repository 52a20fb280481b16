"""HSDS 3.0 CSV import: counts, kinds, idempotent re-import, skipped rows, all-or-nothing."""
import json
import shutil

import pytest
from sqlalchemy import func, select

from infra.db import session_scope
from resources.importers.hsds_import import HsdsImportError, import_hsds
from resources.models import Location, Phone, Service, ServiceKind
from resources.stats import directory_stats


def kinds_by_name(engine) -> dict[str, set[str]]:
    with session_scope(engine) as s:
        rows = s.execute(select(Service.name, ServiceKind.kind).join(ServiceKind)).all()
    out: dict[str, set[str]] = {}
    for name, kind in rows:
        out.setdefault(name, set()).add(kind)
    return out


def stats(engine) -> dict:
    with session_scope(engine) as s:
        return directory_stats(s)


def copy_sample(shared, tmp_path):
    folder = tmp_path / "directory"
    shutil.copytree(shared.sample, folder)
    for f in folder.iterdir():
        f.chmod(0o644)
    return folder


def test_sample_import_counts_every_table(engine, shared):
    report = import_hsds(shared.sample, engine)
    assert report.skipped == []
    assert report.imported == {"organization": 10, "service": 10, "location": 10, "service_at_location": 10,
                               "address": 10, "phone": 10, "schedule": 10, "language": 10, "taxonomy": 2,
                               "taxonomy_term": 8, "attribute": 9}
    s = stats(engine)
    assert (s["organizations"], s["services"], s["active_services"], s["locations"]) == (10, 10, 9, 10)
    assert s["by_kind"] == {"shelter": 4, "mental_health": 2, "substance_use": 2, "legal": 2}


def test_every_sample_service_gets_its_category_even_untagged_ones(engine, shared):
    import_hsds(shared.sample, engine)
    expected = json.loads(shared.sample_names.read_text())
    got = kinds_by_name(engine)
    for svc in expected:
        assert got.get(svc["name"]) == {svc["category"]}, svc["name"]
    assert any(not svc["tagged"] for svc in expected)


def test_kind_reasons_name_the_taxonomy_term_or_the_keyword(engine, shared):
    import_hsds(shared.sample, engine)
    with session_scope(engine) as s:
        reasons = dict(s.execute(select(Service.name, ServiceKind.reason).join(ServiceKind)).all())
    assert reasons["Foothills Quiet House"] == "taxonomy BH-1800.1500-100 Domestic Violence Shelters"
    assert "RX-8450.7000" in reasons["Treasure Valley Recovery"]  # child code inherits its parent's kind
    assert reasons["Old Market Survivor Law"].startswith("keyword")


def test_reimport_updates_in_place_without_duplicates(engine, tmp_path, shared):
    import_hsds(shared.sample, engine)
    before = stats(engine)
    folder = copy_sample(shared, tmp_path)
    services = folder / "services.csv"
    services.write_text(services.read_text().replace("Greenbelt Counseling,", "Greenbelt Counseling Centre,", 1))
    report = import_hsds(folder, engine)
    assert report.inserted["service"] == 0 and report.updated["service"] == 10
    assert stats(engine) == before
    assert "Greenbelt Counseling Centre" in kinds_by_name(engine)
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(ServiceKind)).scalar_one() == 10


def test_works_without_datapackage_json(engine, tmp_path, shared):
    folder = copy_sample(shared, tmp_path)
    (folder / "datapackage.json").unlink()
    report = import_hsds(folder, engine)
    assert report.imported["service"] == 10 and report.imported["attribute"] == 9


@pytest.mark.parametrize("breakage", ["binary_file", "bad_json", "no_id_column"])
def test_unreadable_input_is_an_error_and_changes_nothing(engine, tmp_path, breakage, shared):
    import_hsds(shared.sample, engine)
    before = stats(engine)
    folder = copy_sample(shared, tmp_path)
    (folder / "services.csv").write_text((folder / "services.csv").read_text().replace("Foothills", "Changed"))
    if breakage == "binary_file":
        (folder / "phones.csv").write_bytes(b"id,number\n\x00\x01\x02garbage")
    elif breakage == "bad_json":
        (folder / "datapackage.json").write_text("{not json")
    else:
        (folder / "locations.csv").write_text("name,latitude\nSomewhere,1\n")
    with pytest.raises(HsdsImportError) as error:
        import_hsds(folder, engine)
    assert str(error.value)
    assert stats(engine) == before
    assert "Changed Quiet House" not in kinds_by_name(engine)


def test_failure_while_writing_rolls_everything_back(engine, monkeypatch, shared):
    import resources.taxonomy.kinds

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(resources.taxonomy.kinds, "refresh_service_kinds", broken)
    with pytest.raises(RuntimeError):
        import_hsds(shared.sample, engine)
    assert stats(engine)["services"] == 0 and stats(engine)["organizations"] == 0


def test_missing_path_empty_folder_and_rowless_schema_are_clear_errors(engine, tmp_path, shared):
    import_hsds(shared.sample, engine)
    before = stats(engine)
    with pytest.raises(HsdsImportError, match="no such file"):
        import_hsds(tmp_path / "nope", engine)
    (tmp_path / "empty").mkdir()
    with pytest.raises(HsdsImportError, match="no HSDS files"):
        import_hsds(tmp_path / "empty", engine)
    with pytest.raises(HsdsImportError, match="none of their CSV files is here"):
        import_hsds(shared.hsds / "hsds2-spec-schema", engine)  # a datapackage.json without rows
    assert stats(engine) == before


@pytest.mark.parametrize("breakage, message", [
    ("stray_quote", r"services.csv line \d+: not valid CSV"),
    ("extra_values", r"locations.csv line 3: 9 values but the header has 7 columns"),
    ("cp1252", r"phones.csv line 3: byte 0xe9 is not valid utf-8 text.*--encoding cp1252"),
    ("utf16", r"organizations.csv is UTF-16"),
])
def test_broken_csv_or_wrong_encoding_fails_clearly_and_changes_nothing(engine, tmp_path, shared, breakage, message):
    import_hsds(shared.sample, engine)
    before = stats(engine)
    folder = copy_sample(shared, tmp_path)
    (folder / "services.csv").write_text((folder / "services.csv").read_text().replace("Foothills", "Changed"))
    if breakage == "stray_quote":
        services = folder / "services.csv"
        services.write_text(services.read_text().replace(",Greenbelt Counseling,", ',"Greenbelt Counseling,', 1))
    elif breakage == "extra_values":
        lines = (folder / "locations.csv").read_text().splitlines()
        lines[2] += ",oops,more"
        (folder / "locations.csv").write_text("\n".join(lines) + "\n")
    elif breakage == "cp1252":
        lines = (folder / "phones.csv").read_text().splitlines()
        lines[2] = lines[2].replace("voice", "voice caf\u00e9")
        (folder / "phones.csv").write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    else:
        (folder / "organizations.csv").write_bytes((folder / "organizations.csv").read_text().encode("utf-16"))
    with pytest.raises(HsdsImportError, match=message):
        import_hsds(folder, engine)
    assert stats(engine) == before
    assert "Changed Quiet House" not in kinds_by_name(engine)


def test_a_named_encoding_reads_a_windows_1252_export(engine, tmp_path, shared):
    folder = copy_sample(shared, tmp_path)
    services = folder / "services.csv"
    services.write_bytes(services.read_text().replace("Greenbelt Counseling,", "Greenbelt Counseling Caf\u00e9,")
                         .encode("cp1252"))
    report = import_hsds(folder, engine, encoding="cp1252")
    assert "Greenbelt Counseling Caf\u00e9" in kinds_by_name(engine)
    assert any("read as cp1252" in n for n in report.notes)


def write_csv(folder, name, text):
    (folder / name).write_text(text.strip() + "\n")


def test_unusable_rows_are_skipped_with_reasons_and_padding_is_trimmed(engine, tmp_path):
    folder = tmp_path / "messy"
    folder.mkdir()
    write_csv(folder, "organizations.csv", """
id,name,description
o1,  Padded Org  ,x
""")
    write_csv(folder, "services.csv", """
id,organization_id,name,description,status
s1,o1,  Hope Shelter  ,emergency shelter beds,  Active
s2,o1,,no name here,active
,o1,No Id,shelter,active
s3,o-missing,Orphan,shelter,active
s1,o1,Duplicate,shelter,active
""")
    write_csv(folder, "locations.csv", """
id,organization_id,name,latitude,longitude
l1,o1,Main, 43.6 , -116.2
l2,o-missing,Placeholder,100,101
""")
    write_csv(folder, "service_at_location.csv", """
id,service_id,location_id
sal1,s1,l1
sal2,s1,l-missing
sal3,s2,l1
""")
    write_csv(folder, "phones.csv", """
id,service_id,location_id,number,type
p1,s1,,"  (208) 555-0100 ",voice
p2,s-missing,,(208) 555-0101,voice
""")
    report = import_hsds(folder, engine)
    reasons = {(s.table, s.row_id): s.reason for s in report.skipped}
    assert reasons[("service", "s2")] == "no name"
    assert reasons[("service", None)] == "no id"
    assert any("services.csv line 5 (id s3): organization_id o-missing" in w for w in report.warnings)
    assert reasons[("service", "s1")].startswith("duplicate id")
    assert "l-missing" in reasons[("service_at_location", "sal2")]
    assert "s2" in reasons[("service_at_location", "sal3")]  # its service was skipped
    assert ("phone", "p2") in reasons
    sources = {(s.table, s.row_id): s.source for s in report.skipped}
    assert sources[("service", "s2")] == "services.csv line 3"
    assert any("not a place on Earth" in w for w in report.warnings)
    assert report.imported["service"] == 2 and report.imported["location"] == 2
    with session_scope(engine) as s:
        svc = s.get(Service, "s1")
        assert (svc.name, svc.status) == ("Hope Shelter", "active")
        loc = s.get(Location, "l1")
        assert (loc.latitude, loc.longitude) == (43.6, -116.2)
        placeholder = s.get(Location, "l2")
        assert (placeholder.latitude, placeholder.organization_id) == (None, None)
        assert s.get(Phone, "p1").number == "(208) 555-0100"
    assert kinds_by_name(engine) == {"Hope Shelter": {"shelter"}, "Orphan": {"shelter"}}
    with session_scope(engine) as s:
        assert s.get(Service, "s3").organization_id is None  # kept, without its missing organization


def test_a_listed_but_absent_file_is_noted_not_fatal(engine, tmp_path, shared):
    folder = copy_sample(shared, tmp_path)
    (folder / "languages.csv").unlink()
    report = import_hsds(folder, engine)
    assert report.imported["service"] == 10 and "language" not in report.imported
    assert any("languages.csv" in note for note in report.notes)


def test_spec_example_with_placeholders_imports_what_it_can(engine, shared):
    report = import_hsds(shared.hsds / "hsds3-spec-examples" / "csv", engine)
    assert report.imported["service"] == 1
    assert kinds_by_name(engine) == {"Community Counselling": {"mental_health"}}
    assert [s.table for s in report.skipped] == ["attribute"]


def test_plural_resource_names_and_link_entities_are_understood(engine, tmp_path):
    folder = tmp_path / "plural"
    folder.mkdir()
    (folder / "datapackage.json").write_text(
        '{"name": "plural", "resources": [{"name": "services", "path": "svc.csv"},'
        ' {"name": "taxonomy_terms", "path": "terms.csv"}, {"name": "attributes", "path": "attrs.csv"}]}')
    write_csv(folder, "svc.csv", "id,name,status\ns1,Riverside Center,active")
    write_csv(folder, "terms.csv", "id,code,name\nt1,RX-8450,Substance Use Disorder Treatment Programs")
    write_csv(folder, "attrs.csv", "id,link_id,taxonomy_term_id,link_entity\na1,s1,t1,Services")
    report = import_hsds(folder, engine)
    assert report.skipped == [] and report.dataset == "plural"
    assert kinds_by_name(engine) == {"Riverside Center": {"substance_use"}}
