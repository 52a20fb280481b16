"""The JSON API for integrations (CONTRACT.md), behind bearer tokens (`navigator tokens create`).

Without a valid token the answer is 401 and nothing else: not whether a handoff exists, not
whether a status is valid.
"""
from __future__ import annotations

import asyncio
from typing import Optional

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json

from navigator import db
from navigator.handoffs import STATUSES, get_handoff, list_handoffs
from navigator.tokens import verify_token

UNAUTHORIZED = {"error": "unauthorized"}
blueprint = Blueprint("api", url_prefix="/api")


def bearer_token(request: Request) -> Optional[str]:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def unauthorized() -> HTTPResponse:
    return json(UNAUTHORIZED, status=401, headers={"WWW-Authenticate": "Bearer"})


async def _with_token(request: Request, work):
    """Run `work(session)` if the request carries a live token; `unauthorized` otherwise."""
    token = bearer_token(request)

    def run():
        with db.session_scope(request.app.ctx.engine) as session:
            if verify_token(session, token) is None:
                return unauthorized
            return work(session)

    return await asyncio.to_thread(run) if token else unauthorized


@blueprint.get("/handoffs")
async def handoffs(request: Request) -> HTTPResponse:
    """Handoffs, most urgent then oldest first; `?status=` one of STATUSES."""
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        result = await _with_token(request, lambda s: None)
        if result is unauthorized:
            return unauthorized()
        return json({"error": f"status must be one of {', '.join(STATUSES)}"}, status=400)
    result = await _with_token(request, lambda s: [h.to_dict() for h in list_handoffs(s, status)])
    return unauthorized() if result is unauthorized else json(result)


@blueprint.get("/handoffs/<handoff_id:int>")
async def handoff(request: Request, handoff_id: int) -> HTTPResponse:
    def work(session):
        try:
            return get_handoff(session, handoff_id).to_dict()
        except LookupError:
            return None

    result = await _with_token(request, work)
    if result is unauthorized:
        return unauthorized()
    return json(result) if result is not None else json({"error": "not found"}, status=404)
