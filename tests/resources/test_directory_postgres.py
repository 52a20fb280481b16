"""The directory on PostgreSQL (the scale-out set-up): import the shared sample and a fictional 1.x
export into a scratch database, search, re-import, and fail an import without changing anything.

Uses POSTGRES_TEST_URL (default postgresql://postgres@127.0.0.1:5432/postgres) to create and drop its
own database; skipped only when no PostgreSQL answers there.
"""
import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from infra.db import make_engine, session_scope
from navigator.schema import create_schema
from resources.importers.hsds_import import HsdsImportError, import_hsds
from resources.search.nearby import search_near
from resources.stats import directory_stats

pytestmark = pytest.mark.postgres
ADMIN_URL = os.environ.get("POSTGRES_TEST_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def pg_engine():
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as e:  # noqa: BLE001 - any failure to connect means "no PostgreSQL here"
        admin.dispose()
        pytest.skip(f"PostgreSQL is unreachable at {ADMIN_URL}: {type(e).__name__}")
    name = f"navigator_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        create_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_import_search_reimport_and_failed_import_on_postgresql(pg_engine, shared, tmp_path):
    report = import_hsds(shared.sample, pg_engine)
    assert report.imported["service"] == 10 and report.skipped == []
    with session_scope(pg_engine) as s:
        shelters = search_near(s, "shelter", "Boise", limit=5)
        assert [r.name for r in shelters] == ["Foothills Quiet House", "Table Rock Family Shelter"]
        assert all(r.address is None for r in shelters)  # confidential DV shelters
        assert search_near(s, "legal", "Omaha, NE", language="en")[0].name == "Old Market Survivor Law"
        assert directory_stats(s)["by_kind"] == {"shelter": 4, "mental_health": 2, "substance_use": 2, "legal": 2}

    report = import_hsds(shared.sample, pg_engine)
    assert report.updated["service"] == 10 and report.inserted["service"] == 0

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "services.csv").write_text('id,name,status\ns1,"Unclosed,active\n')
    with pytest.raises(HsdsImportError):
        import_hsds(broken, pg_engine)
    with session_scope(pg_engine) as s:
        assert directory_stats(s)["services"] == 10


def test_a_1x_export_with_generated_ids_on_postgresql(pg_engine, shared):
    report = import_hsds(shared.hsds / "ohana-san-mateo", pg_engine, id_prefix="ohana:")
    assert report.imported["service"] == 23
    report = import_hsds(shared.hsds / "ohana-san-mateo", pg_engine, id_prefix="ohana:")
    assert report.inserted.get("schedule", 0) == 0 and report.inserted.get("language", 0) == 0
    with session_scope(pg_engine) as s:
        assert search_near(s, "mental_health", "San Mateo, CA", limit=10)
