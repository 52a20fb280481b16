"""The console's one way to reach the database: a session in a worker thread (database calls
block; the event loop must keep serving other advocates meanwhile). `in_session` is for request
handlers; `in_engine_session` for what runs without a request (the handoff lifecycle and its
background watch), so that both open, commit and close sessions the same way."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Optional

from sanic.request import Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from infra import db


def in_engine_session(engine: Optional[Engine], work: Callable[[Session], Any]) -> Awaitable[Any]:
    """Awaitable: `work(session)` in a worker thread on `engine` (None: the configured database),
    committed when it returns and rolled back if it raises."""
    def run():
        with db.session_scope(engine) as session:
            return work(session)
    return asyncio.to_thread(run)


def in_session(request: Request, work: Callable[[Session], Any]) -> Awaitable[Any]:
    """Awaitable: `work(session)` in a worker thread on the app's engine, committed when it returns."""
    return in_engine_session(request.app.ctx.engine, work)
