"""The demo directory: a few real San Mateo County providers (Ohana API sample, BSD-3-Clause, see
`san_mateo/NOTICE`) so a fresh embedded set-up answers searches before an agency imports its own.

CONTRACT.md: demo rows go only into the embedded default database (no `DATABASE_URL`) and only
while it has no services; a user's own database never receives them. Every demo row has
`is_demo = true`, and importing a real directory removes them.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from infra import config
from infra.db import get_engine
from resources.importers.hsds_import import import_hsds
from resources.models import Service, create_directory_tables

DEMO_DIRECTORY = Path(__file__).resolve().parent / "san_mateo"


def directory_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Service)).scalar_one() == 0


def load_demo_if_empty(engine: Engine | None = None) -> bool:
    """Load the demo directory when the embedded default database has no services; True if loaded."""
    if not config.uses_embedded_database():
        return False
    engine = engine or get_engine()
    create_directory_tables(engine)
    if not directory_is_empty(engine):
        return False
    import_hsds(DEMO_DIRECTORY, engine, demo=True)
    return True
