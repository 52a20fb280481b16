"""`navigator import-hsds`, `search` and `stats`, as a user runs them."""
import argparse
import json

import pytest

from resources import commands


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """run(*argv) -> (exit code, stdout, stderr) against a new DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")

    def _run(*argv):
        parser = argparse.ArgumentParser(prog="navigator")
        commands.register(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(list(argv))
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
