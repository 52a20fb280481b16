"""The console's one way to reach the database from a request: a session in a worker thread
(database calls block; the event loop must keep serving other advocates meanwhile)."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from sanic.request import Request
from sqlalchemy.orm import Session

from infra import db


def in_session(request: Request, work: Callable[[Session], Any]):
    """Awaitable: `work(session)` in a worker thread, committed when it returns."""
    def run():
        with db.session_scope(request.app.ctx.engine) as session:
            return work(session)
    return asyncio.to_thread(run)
