"""console.database: the console's one way to a database session, from a request (`in_session`)
or without one (`in_engine_session`: the handoff lifecycle and its background watch), in a worker
thread, committed when the work returns and rolled back when it raises."""
from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from console.database import in_engine_session, in_session
from infra import db


@pytest.fixture
def engine(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/console.db")
    with db.session_scope(engine) as session:
        session.execute(text("CREATE TABLE notes (words TEXT)"))
    yield engine
    engine.dispose()


def notes(engine) -> list[str]:
    with db.session_scope(engine) as session:
        return [row[0] for row in session.execute(text("SELECT words FROM notes"))]


def write(words: str, fail: bool = False):
    def work(session):
        session.execute(text("INSERT INTO notes VALUES (:words)"), {"words": words})
        if fail:
            raise RuntimeError("after the write")
        return threading.get_ident()
    return work


def test_work_runs_in_a_worker_thread_and_is_committed(engine):
    async def both():
        request = SimpleNamespace(app=SimpleNamespace(ctx=SimpleNamespace(engine=engine)))
        return threading.get_ident(), await in_engine_session(engine, write("a")), await in_session(request, write("b"))

    loop_thread, *work_threads = asyncio.run(both())
    assert loop_thread not in work_threads
    assert notes(engine) == ["a", "b"]


def test_work_that_raises_is_rolled_back_and_the_error_reaches_the_caller(engine):
    with pytest.raises(RuntimeError, match="after the write"):
        asyncio.run(in_engine_session(engine, write("never", fail=True)))
    assert notes(engine) == []
