"""The console's HTTP app: readiness (`/healthz`) and the JSON API behind bearer tokens.

Database calls are short but blocking, so they run in a worker thread and never stall the loop.
"""
from __future__ import annotations

import asyncio
from typing import Optional

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sqlalchemy import text
from sqlalchemy.engine import Engine

from navigator import db
from navigator.handoffs import STATUSES, list_handoffs
from navigator.tokens import verify_token

UNAUTHORIZED = {"error": "unauthorized"}


def bearer_token(request: Request) -> Optional[str]:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def create_app(engine: Optional[Engine] = None, name: str = "navigator_console") -> Sanic:
    app = Sanic(name)
    app.config.ACCESS_LOG = False  # URLs may carry conversation ids; nothing personal in logs
    app.ctx.engine = engine

    def session_scope():
        return db.session_scope(app.ctx.engine)

    @app.get("/healthz")
    async def healthz(request: Request) -> HTTPResponse:
        def ping() -> None:
            with session_scope() as session:
                session.execute(text("SELECT 1"))

        try:
            await asyncio.to_thread(ping)
        except Exception as error:  # any database fault means "not ready"
            return json({"status": "unavailable", "database": type(error).__name__}, status=503)
        return json({"status": "ok"})

    @app.get("/api/handoffs")
    async def handoffs(request: Request) -> HTTPResponse:
        status = request.args.get("status")
        token = bearer_token(request)

        def query():
            with session_scope() as session:
                if verify_token(session, token) is None:
                    return None
                return [h.to_dict() for h in list_handoffs(session, status)]

        if status is not None and status not in STATUSES:
            if not token:
                return json(UNAUTHORIZED, status=401)
            return json({"error": f"status must be one of {', '.join(STATUSES)}"}, status=400)
        rows = await asyncio.to_thread(query)
        if rows is None:
            return json(UNAUTHORIZED, status=401, headers={"WWW-Authenticate": "Bearer"})
        return json(rows)

    @app.middleware("response")
    async def security_headers(request: Request, response: HTTPResponse) -> None:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")

    return app
