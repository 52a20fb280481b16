"""The one SQLAlchemy engine and session factory for `DATABASE_URL` (2.0-style API on SQLAlchemy 1.4).

The directory (`resources.models`), the handoff queue and the console's accounts share one
declarative `Base`; navigator.schema (the top layer, which alone may import every table's owner)
creates every table at set-up. This module imports nothing above infra.
"""
from __future__ import annotations

import contextlib
import logging
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from infra import config

Base = declarative_base()
logger = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (bot, console) never block the importer
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted survivor data is overwritten, not left in free pages
    cursor.close()


def private_sqlite_file(path: Path) -> None:
    """Make the SQLite file `path` readable by its owner only (0600), its folder too (0700) when
    this creates it: the file holds survivors' conversations or the directory, handoffs and
    accounts. A new file is created empty (a valid database) with that mode, so it is never
    readable by others, even for a moment; an existing one loses group and other access. SQLite
    gives its -wal, -shm and -journal files the database file's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass
    mode = path.stat().st_mode
    if mode & 0o077:
        try:
            os.chmod(path, stat.S_IMODE(mode) & 0o700)
        except OSError as error:  # not ours: whoever owns it keeps its mode; say so, and go on
            logger.warning("could not make %s private (%s): set its mode to 600", path, type(error).__name__)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and secure delete, and its file is
    private (private_sqlite_file)."""
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        private_sqlite_file(Path(url[len("sqlite:///"):].split("?", 1)[0]))
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
