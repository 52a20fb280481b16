"""`navigator import-hsds`, `search` and `stats`, as a user runs them."""
import argparse
import json

import pytest

from navigator import schema
from resources import commands


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """run(*argv) -> (exit code, stdout, stderr) against a new DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")

    def _run(*argv):
        parser = argparse.ArgumentParser(prog="navigator")
        commands.register(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(list(argv))
        if getattr(args, "needs_schema", False):  # what navigator.cli does before such a subcommand
            schema.create_schema()
        code = args.handler(args)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def test_import_then_search_json_nearest_first(run, shared):
    code, out, _ = run("import-hsds", str(shared.sample))
    assert code == 0
    assert "service" in out and "10" in out
    code, out, _ = run("search", "--kind", "shelter", "--near", "Boise", "--json")
    assert code == 0
    results = json.loads(out)
    assert [r["name"] for r in results] == ["Foothills Quiet House", "Table Rock Family Shelter"]
    assert {"name", "phone", "distance_km"} <= set(results[0])
    assert results[0]["phone"] == "(555) 0100-1000"
    assert results[0]["distance_km"] <= results[1]["distance_km"]


def test_search_limit_and_readable_output(run, shared):
    run("import-hsds", str(shared.sample))
    code, out, _ = run("search", "--kind", "legal", "--near", "Omaha, NE", "--limit", "1", "--json")
    assert [r["name"] for r in json.loads(out)] == ["Old Market Survivor Law"]
    code, out, _ = run("search", "--kind", "mental_health", "--near", "83702")
    assert code == 0 and "Greenbelt Counseling" in out and "(555) 0103-1021" in out


def test_import_prints_each_skipped_row_with_its_reason(run, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "services.csv").write_text("id,name,status\ns1,Good Shelter,active\ns2,,active\n")
    code, out, _ = run("import-hsds", str(folder))
    assert code == 0
    assert "services.csv line 3 (id s2): no name" in out


def test_unreadable_input_exits_nonzero_with_a_message_and_changes_nothing(run, tmp_path, shared):
    run("import-hsds", str(shared.sample))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "services.csv").write_bytes(b"\x00\x01binary")
    code, out, err = run("import-hsds", str(broken))
    assert code != 0 and "services.csv" in err and "not changed" in err
    _, out, _ = run("stats", "--json")
    assert json.loads(out)["services"] == 10


def test_unknown_kind_or_place_exit_2_with_a_clear_error(run):
    code, out, err = run("search", "--kind", "food", "--near", "Boise", "--json")
    assert (code, out) == (2, "") and "unknown kind" in err
    code, out, err = run("search", "--kind", "legal", "--near", "Xyzzyville", "--json")
    assert (code, out) == (2, "") and "unknown place" in err


def test_stats_json_on_a_new_database_and_after_import(run, shared):
    code, out, _ = run("stats", "--json")
    stats = json.loads(out)
    assert code == 0 and stats["services"] == 0
    assert stats["by_kind"] == {"shelter": 0, "mental_health": 0, "substance_use": 0, "legal": 0}
    run("import-hsds", str(shared.sample))
    stats = json.loads(run("stats", "--json")[1])
    assert (stats["organizations"], stats["services"], stats["locations"]) == (10, 10, 10)
    assert stats["by_kind"]["legal"] == 2


def test_assembled_navigator_cli_runs_the_same_search(run, shared, capsys):
    from navigator.cli import main

    run("import-hsds", str(shared.sample))
    assert main(["search", "--kind", "substance_use", "--near", "Omaha, NE", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "Missouri Bend Recovery"


def write(folder, name, text):
    (folder / name).write_text(text.strip() + "\n")


@pytest.fixture
def tulsa(tmp_path):
    """A fictional HSDS 3.0 directory around Tulsa, OK: an inactive shelter nearest, a confidential DV
    shelter, a public family shelter farther out, and a legal clinic."""
    folder = tmp_path / "tulsa"
    folder.mkdir()
    write(folder, "organizations.csv", "id,name\no1,Green Country Safe Homes\no2,Arkansas River Family Shelter\n"
                                       "o3,Old Downtown Shelter\no4,Tulsa Survivor Law")
    write(folder, "services.csv", "id,organization_id,name,description,status\n"
                                  "s1,o1,Green Country Safe Home,Domestic violence shelter for women and children,active\n"
                                  "s2,o2,River Family Shelter,Emergency shelter for families,active\n"
                                  "s3,o3,Old Downtown Shelter,Emergency shelter,inactive\n"
                                  "s4,o4,Tulsa Survivor Law,Free legal help and protective orders,active")
    write(folder, "locations.csv", "id,organization_id,name,latitude,longitude\n"
                                   "l1,o1,Safe Home,36.1700,-95.9400\nl2,o2,Family Shelter,36.0500,-95.8000\n"
                                   "l3,o3,Old Shelter,36.1540,-95.9930\nl4,o4,Law Office,36.1560,-95.9900")
    write(folder, "service_at_location.csv", "id,service_id,location_id\nsal1,s1,l1\nsal2,s2,l2\nsal3,s3,l3\nsal4,s4,l4")
    write(folder, "addresses.csv", "id,location_id,address_1,city,state_province,postal_code,address_type\n"
                                   "a1,l1,10 Hidden Way,Tulsa,OK,74103,physical\n"
                                   "a2,l2,20 River Rd,Tulsa,OK,74133,physical\n"
                                   "a3,l3,30 Main St,Tulsa,OK,74103,physical\n"
                                   "a4,l4,40 Court St,Tulsa,OK,74103,physical")
    write(folder, "phones.csv", "id,service_id,number,type\np1,s1,(918) 555-0101,voice\np2,s2,(918) 555-0102,voice\n"
                                "p3,s3,(918) 555-0103,voice\np4,s4,(918) 555-0104,voice")
    write(folder, "schedules.csv", "id,service_id,freq,byday,opens_at,closes_at\n"
                                   "h1,s1,WEEKLY,\"MO,TU,WE,TH,FR,SA,SU\",00:00,23:59\n"
                                   "h2,s2,WEEKLY,\"MO,TU,WE,TH,FR\",09:00,17:00")
    write(folder, "languages.csv", "id,service_id,name\nla1,s1,Spanish")
    return folder


def test_tulsa_shelter_search_nearest_first_without_inactive_or_confidential_addresses(run, tulsa):
    assert run("import-hsds", str(tulsa))[0] == 0
    code, out, _ = run("search", "--kind", "shelter", "--near", "Tulsa, OK", "--json")
    assert code == 0
    results = json.loads(out)
    assert [r["name"] for r in results] == ["Green Country Safe Home", "River Family Shelter"]
    assert results[0]["distance_km"] < results[1]["distance_km"]
    assert results[0]["address"] is None and results[0]["confidential_location"] and "Hidden Way" not in out
    assert results[1]["address"] == "20 River Rd, Tulsa, OK 74133"
    assert "Old Downtown Shelter" not in out and "555-0103" not in out


def test_search_filters_from_the_command_line(run, tulsa):
    run("import-hsds", str(tulsa))
    code, out, _ = run("search", "--kind", "shelter", "--near", "74103", "--language", "es", "--json")
    assert [r["name"] for r in json.loads(out)] == ["Green Country Safe Home"]
    code, out, _ = run("search", "--kind", "shelter", "--near", "74103", "--tag", "takes_children",
                       "--tag", "domestic_violence", "--json")
    assert [r["name"] for r in json.loads(out)] == ["Green Country Safe Home"]
    code, out, _ = run("search", "--kind", "shelter", "--near", "74103", "--open-now", "--json")
    assert "Green Country Safe Home" in [r["name"] for r in json.loads(out)]  # open 24 hours
    code, out, err = run("search", "--kind", "shelter", "--near", "74103", "--tag", "nonsense")
    assert code == 2 and "unknown tag 'nonsense'" in err


def test_nothing_near_prints_the_national_lines(run, tulsa):
    run("import-hsds", str(tulsa))
    code, out, _ = run("search", "--kind", "substance_use", "--near", "Tulsa, OK")
    assert code == 0 and "No active substance use services" in out
    assert "SAMHSA National Helpline: call 1-800-662-4357 (24/7)" in out


def test_national_lines_command(run):
    code, out, _ = run("national-lines", "--kind", "shelter", "--json")
    lines = json.loads(out)
    assert code == 0 and {line["phone"] for line in lines} == {"1-800-799-7233", "1-888-373-7888"}
    code, out, _ = run("national-lines")
    assert "legal:" in out and "988" in out


def test_stats_json_shows_each_export_and_tags(run, tulsa, shared):
    run("import-hsds", str(shared.sample))
    run("import-hsds", str(tulsa))
    stats = json.loads(run("stats", "--json")[1])
    assert stats["services"] == 14 and stats["by_kind"]["legal"] == 3
    assert stats["by_dataset"]["tulsa"] == {"organizations": 4, "services": 4, "active_services": 3, "locations": 4,
                                            "by_kind": {"shelter": 3, "mental_health": 0, "substance_use": 0,
                                                        "legal": 1}}
    assert stats["by_tag"]["confidential_location"] >= 1


def test_import_report_groups_many_rows_skipped_for_one_reason(run, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    rows = "\n".join(f"s{i},,active" for i in range(15))
    write(folder, "services.csv", f"id,name,status\nok,Good Shelter,active\n{rows}")
    code, out, err = run("import-hsds", str(folder))
    assert code == 0 and err == ""  # no progress bar when stderr is not a terminal
    assert "services.csv, 15 rows: no name; lines 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17" in out


def test_reindex_recomputes_kinds(run, shared):
    run("import-hsds", str(shared.sample))
    code, out, _ = run("reindex")
    assert code == 0 and "shelter 4" in out
    assert json.loads(run("stats", "--json")[1])["by_kind"]["shelter"] == 4


def test_long_imports_show_progress_on_a_terminal_and_never_row_contents(engine, tmp_path):
    import io

    from resources.importers.hsds_import import import_hsds
    from resources.importers.progress import TerminalProgress, progress_for

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    folder = tmp_path / "big"
    folder.mkdir()
    rows = "\n".join(f"s{i},Hope Shelter {i},active" for i in range(2500))
    write(folder, "services.csv", f"id,name,status\n{rows}")
    terminal = Terminal()
    progress = progress_for(terminal)
    assert isinstance(progress, TerminalProgress)
    import_hsds(folder, engine, progress=progress)
    shown = terminal.getvalue()
    assert "import: reading files" in shown and "0/2500" in shown
    assert "Hope Shelter" not in shown
    assert not isinstance(progress_for(io.StringIO()), TerminalProgress)  # not a terminal: nothing
