"""Demo rows go only into the embedded default database, and only while it is empty."""
from sqlalchemy import select

from infra.db import session_scope
from resources.demo import DEMO_DIRECTORY, load_demo_if_empty
from resources.importers.hsds_import import import_hsds
from resources.models import Service
from resources.search.nearby import search_near
from resources.stats import directory_stats


def services(engine):
    with session_scope(engine) as s:
        return s.execute(select(Service.name, Service.is_demo)).all()


def test_loads_into_the_empty_embedded_database_marked_demo(engine, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert load_demo_if_empty(engine) is True
    rows = services(engine)
    assert rows and all(is_demo for _, is_demo in rows)
    with session_scope(engine) as s:
        result = search_near(s, "shelter", "Redwood City, CA")[0]
        assert directory_stats(s)["demo_services"] == len(rows)
    assert (result.name, result.is_demo) == ("Redwood City Corps", True)
    assert result.phone == "650 368-4643"


def test_loads_only_once(engine, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    load_demo_if_empty(engine)
    count = len(services(engine))
    assert load_demo_if_empty(engine) is False
    assert len(services(engine)) == count


def test_never_into_a_users_own_database(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/t.db")
    assert load_demo_if_empty(engine) is False
    assert services(engine) == []


def test_not_into_an_embedded_database_that_has_services(sample_engine, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert load_demo_if_empty(sample_engine) is False
    assert not any(is_demo for _, is_demo in services(sample_engine))


def test_importing_a_real_directory_removes_the_demo(engine, monkeypatch, shared):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    load_demo_if_empty(engine)
    report = import_hsds(shared.sample, engine)
    assert report.removed_demo_services > 0
    rows = services(engine)
    assert len(rows) == 10 and not any(is_demo for _, is_demo in rows)
    with session_scope(engine) as s:
        assert search_near(s, "shelter", "Redwood City, CA") == []


def test_demo_folder_credits_code_for_america():
    notice = (DEMO_DIRECTORY / "NOTICE").read_text()
    assert "Code for America" in notice and "Redistribution and use" in notice
