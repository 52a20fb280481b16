"""The JSON API for integrations (CONTRACT.md, "Advocate side: console API"), behind bearer
tokens (console.tokens, `navigator tokens create`).

- Without a live token the answer is 401 and nothing else: not whether a handoff exists, not
  whether a status is valid. A revoked or expired token gets the same 401.
- A read-only token may read the queue, a handoff and its transcript; claim, reply, release and
  close need the `act` scope, else 403 and nothing is done.
- Every request a known token makes leaves an audit entry under its name ("token:NAME"): what it
  did (for a step, the entry console.lifecycle writes, as for an advocate) or why it was refused
  ("api_refused" with a reason code, also for a revoked or expired token, so the use of a leaked
  token shows). Never what anyone wrote. A token nobody issued leaves nothing: anyone could
  otherwise fill the log.
- The steps are the console's own (console.lifecycle) with the token as the advocate: a handoff a
  token claims is held by "token:NAME", only that token can reply to it and release it (or an
  advocate who takes it over in the console), and the survivor is told an advocate joined
  without a name (a token has no display name). A claim of one the token already holds is a
  success (a retried request).

Errors carry {"error": why}: 400 a body or value the step cannot use, 404 no such handoff, 409
not possible in the handoff's state (open: claim it first; held by someone else; closed; the
survivor asked not to be written to first and has not written since), 502 the assistant did not
answer (nothing was done; try again).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Awaitable, Callable, Optional, Union

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sqlalchemy.orm import Session

from console import audit, tokens
from console.database import in_session
from console.lifecycle import Lifecycle
from console.rasa_api import RasaUnavailable
from console.transcript import as_messages
from conversations.handoffs import OUTCOMES, STATUSES, HandoffStateError, get_handoff, list_handoffs

UNAUTHORIZED = {"error": "unauthorized"}
READ_ONLY = {"error": "this token may only read: claim, reply, release and close need a token with the act scope"}
NOT_FOUND = {"error": "not found"}
UNAVAILABLE = "the assistant could not be reached, so nothing was done; try again"
DEFAULT_OUTCOME = "other"  # /close without a body: how it ended was not said
EVERY_READ = dt.timedelta(0)  # the API notes every transcript read (the console page, once per 30 minutes)

blueprint = Blueprint("api", url_prefix="/api")


@dataclasses.dataclass(frozen=True)
class Caller:
    """The token behind a request, as the audit log and the handoff queue name it."""
    actor: str
    may_act: bool


def bearer_token(request: Request) -> Optional[str]:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def unauthorized() -> HTTPResponse:
    return json(UNAUTHORIZED, status=401, headers={"WWW-Authenticate": "Bearer"})


def check_token(session: Session, token: str, acting: bool, handoff_id: Optional[int]) -> Optional[Caller]:
    """The caller of a live token, or None; a known token's refusal (revoked, expired, or
    read-only when `acting`) is audited under its name."""
    row = tokens.find_token(session, token)
    if row is None:
        return None
    refusal = row.refusal()
    if refusal is not None:
        audit.record(session, row.actor, "api_refused", handoff_id, refusal)
        return None
    tokens.note_use(session, row)
    if acting and not row.may_act:
        audit.record(session, row.actor, "api_refused", handoff_id, "read_only")
    return Caller(row.actor, row.may_act)


async def authorised(request: Request, acting: bool, handoff_id: Optional[int] = None,
                     then: Callable[[Session, Caller], Any] = lambda session, caller: None
                     ) -> tuple[Union[Caller, HTTPResponse], Any]:
    """(the caller, what `then(session, caller)` returned) if the request's token is live (and
    may act, when `acting`); else (the answer to give, None). `then` runs in the same database
    session, so a read costs one trip to a worker thread and one commit."""
    token = bearer_token(request)
    if token is None:
        return unauthorized(), None

    def run(session):
        caller = check_token(session, token, acting, handoff_id)
        if caller is None or (acting and not caller.may_act):
            return caller, None
        return caller, then(session, caller)

    caller, result = await in_session(request, run)
    if caller is None:
        return unauthorized(), None
    if acting and not caller.may_act:
        return json(READ_ONLY, status=403), None
    return caller, result


def refuse(session: Session, caller: Caller, handoff_id: Optional[int], reason: str, status: int,
           message: str) -> HTTPResponse:
    """Answer `status` with `message`, and note in the audit log that the request was refused."""
    audit.record(session, caller.actor, "api_refused", handoff_id, reason)
    return json({"error": message}, status=status)


async def refused(request: Request, caller: Caller, handoff_id: Optional[int], reason: str, status: int,
                  message: str) -> HTTPResponse:
    """`refuse`, from outside a database session."""
    return await in_session(request, lambda s: refuse(s, caller, handoff_id, reason, status, message))


@blueprint.get("/handoffs")
async def handoffs(request: Request) -> HTTPResponse:
    """Handoffs, most urgent then oldest first; `?status=` one of STATUSES."""
    status = request.args.get("status")

    def work(session, caller: Caller):
        if status is not None and status not in STATUSES:
            return refuse(session, caller, None, "bad_request", 400, f"status must be one of {', '.join(STATUSES)}")
        rows = [h.to_dict() for h in list_handoffs(session, status)]
        audit.record(session, caller.actor, "listed")
        return json(rows)

    caller, answer = await authorised(request, acting=False, then=work)
    return answer if isinstance(caller, Caller) else caller


@blueprint.get("/handoffs/<handoff_id:int>")
async def handoff(request: Request, handoff_id: int) -> HTTPResponse:
    def work(session, caller: Caller):
        try:
            found = get_handoff(session, handoff_id).to_dict()
        except LookupError:
            return refuse(session, caller, handoff_id, "not_found", 404, NOT_FOUND["error"])
        audit.record(session, caller.actor, "looked_up", handoff_id)
        return json(found)

    caller, answer = await authorised(request, acting=False, handoff_id=handoff_id, then=work)
    return answer if isinstance(caller, Caller) else caller


@blueprint.get("/handoffs/<handoff_id:int>/transcript")
async def transcript(request: Request, handoff_id: int) -> HTTPResponse:
    """The conversation: [{"from": survivor|bot|advocate, "text", "at"}], oldest first. The read
    is audited ("viewed", as when an advocate opens it) before anything is read."""
    caller, _ = await authorised(request, acting=False, handoff_id=handoff_id)
    if not isinstance(caller, Caller):
        return caller
    lifecycle: Lifecycle = request.app.ctx.lifecycle
    try:
        found = await lifecycle.open_conversation(handoff_id, caller.actor, again_after=EVERY_READ)
    except LookupError:
        return await refused(request, caller, handoff_id, "not_found", 404, NOT_FOUND["error"])
    try:
        lines = await lifecycle.transcript(found)
    except RasaUnavailable:
        return json({"error": "the assistant did not answer; try again"}, status=502)
    return json(as_messages(lines))


def json_body(request: Request) -> dict:
    """The request's JSON object ({} for no body); a ValueError (400) for anything else."""
    if not request.body:
        return {}
    try:
        body = request.json
    except Exception:  # Sanic raises its own InvalidUsage for unparsable JSON
        body = None
    if not isinstance(body, dict):
        raise ValueError('the body must be a JSON object, like {"text": "..."}')
    return body


async def act(request: Request, handoff_id: int,
              step: Callable[[Lifecycle, str], Awaitable[object]]) -> HTTPResponse:
    """Run one of the console's steps as the token's actor; the handoff as it is now, or why not.
    The step audits itself (console.lifecycle); a refusal is audited here."""
    caller, _ = await authorised(request, acting=True, handoff_id=handoff_id)
    if not isinstance(caller, Caller):
        return caller
    lifecycle: Lifecycle = request.app.ctx.lifecycle
    try:
        await step(lifecycle, caller.actor)
    except LookupError:
        return await refused(request, caller, handoff_id, "not_found", 404, NOT_FOUND["error"])
    except HandoffStateError as error:
        return await refused(request, caller, handoff_id, "wrong_state", 409, str(error))
    except ValueError as error:
        return await refused(request, caller, handoff_id, "bad_request", 400, str(error))
    except RasaUnavailable:
        return await refused(request, caller, handoff_id, "unavailable", 502, UNAVAILABLE)
    return json((await lifecycle.handoff(handoff_id)).to_dict())


@blueprint.post("/handoffs/<handoff_id:int>/claim")
async def claim(request: Request, handoff_id: int) -> HTTPResponse:
    """Take an open handoff: the bot is paused and the survivor told an advocate joined. Claiming
    one this token already holds answers 200 too: an integration that retries a request whose
    answer it lost must not see a failure for what happened."""
    async def step(lifecycle: Lifecycle, actor: str):
        await claimed_by(lifecycle, handoff_id, actor)
    return await act(request, handoff_id, step)


async def claimed_by(lifecycle: Lifecycle, handoff_id: int, actor: str) -> None:
    """Make sure `actor` holds the handoff: claim it if it is open; a HandoffStateError if
    someone else holds it or it is closed."""
    try:
        await lifecycle.claim(handoff_id, actor)
    except HandoffStateError:
        current = await lifecycle.handoff(handoff_id)
        if not (current.status == "claimed" and current.claimed_by == actor):
            raise


@blueprint.post("/handoffs/<handoff_id:int>/reply")
async def reply(request: Request, handoff_id: int) -> HTTPResponse:
    """{"text": ...} to the survivor on their channel, in a handoff this token holds (claim it
    first: the claim pauses the bot and tells the survivor a person joined)."""
    async def step(lifecycle: Lifecycle, actor: str):
        text = json_body(request).get("text")
        if not isinstance(text, str):
            raise ValueError('the body must be {"text": "..."} with the words to send')
        await lifecycle.reply(handoff_id, actor, text)
    return await act(request, handoff_id, step)


@blueprint.post("/handoffs/<handoff_id:int>/release")
async def release(request: Request, handoff_id: int) -> HTTPResponse:
    """Hand a handoff this token holds back to the assistant, which tells the survivor so."""
    return await act(request, handoff_id, lambda lifecycle, actor: lifecycle.hand_back(handoff_id, actor))


@blueprint.post("/handoffs/<handoff_id:int>/close")
async def close(request: Request, handoff_id: int) -> HTTPResponse:
    """Close, with {"outcome": one of OUTCOMES} (default "other"); one this token still holds
    is handed back first, so no conversation stays paused."""
    async def step(lifecycle: Lifecycle, actor: str):
        outcome = json_body(request).get("outcome", DEFAULT_OUTCOME)
        if not isinstance(outcome, str) or outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        await lifecycle.close(handoff_id, actor, outcome)
    return await act(request, handoff_id, step)
