"""The one SQLAlchemy engine and session factory for `DATABASE_URL` (2.0-style API on SQLAlchemy 1.4).

The directory (`resources.models`), the handoff queue and the console's accounts share one
declarative `Base`, so `create_schema()` creates every table at set-up.
"""
from __future__ import annotations

import contextlib
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from navigator import config

Base = declarative_base()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (bot, console) never block the importer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted survivor data is overwritten, not left in free pages
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and secure delete, and its folder is created."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    # A network database may drop idle connections: check each one before use. A SQLite file
    # cannot, and the check would cost every search a round trip.
    engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@lru_cache(maxsize=None)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    """The engine of the configured `DATABASE_URL` (one per process and URL)."""
    return engine_for(config.database_url())


def session_factory(engine: Engine | None = None) -> sessionmaker:
    return sessionmaker(bind=engine or get_engine(), future=True, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def create_schema(engine: Engine | None = None) -> None:
    """Create every table the navigator needs (idempotent)."""
    import bot.channels.sms_store  # noqa: F401
    import bot.channels.twilio_erasure  # noqa: F401
    import console.sessions  # noqa: F401
    import navigator.alerts  # noqa: F401
    import navigator.advocates  # noqa: F401
    import navigator.audit  # noqa: F401
    import navigator.handoffs  # noqa: F401  (registers tables on Base)
    import navigator.tokens  # noqa: F401
    import resources.models  # noqa: F401

    engine = engine or get_engine()
    Base.metadata.create_all(engine)
    add_missing_columns(engine)
    bot.channels.sms_store.seal_plain_numbers(engine)  # an older database's plain phone numbers


def add_missing_columns(engine: Engine) -> None:
    """Add the nullable columns a newer version declares to tables an older version created
    (create_all never alters a table), so an agency's existing database keeps working."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    kind = column.type.compile(dialect=engine.dialect)
                    connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
