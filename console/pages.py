"""The advocates' pages: the queue, one handoff (transcript and what can be done with it), and
the audit log. Each step posts a form and comes back to the page (post/redirect/get); a step
that fails shows why, keeps what the advocate wrote, and changes nothing."""
from __future__ import annotations

import logging

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json, redirect

from console import audit
from console.auth import signed_in
from console.database import in_session
from console.lifecycle import MAX_REPLY_CHARS
from console.rasa_api import RasaUnavailable
from console.render import page, queue_row, shift_status
from conversations import handoffs
from conversations.handoffs import ACTIVE_STATUSES, OUTCOMES, HandoffStateError
from infra.clock import utcnow

logger = logging.getLogger(__name__)
blueprint = Blueprint("pages")

DONE = {
    "claimed": "You have this conversation now. The bot is paused: only you answer. The survivor was told "
               "a person joined (unless they asked not to be written to first).",
    "taken_over": "You have this conversation now. The other advocate can no longer reply.",
    "replied": "Sent.",
    "handed_back": "The bot has the conversation again and told the survivor so.",
    "closed": "Closed.",
}



def _queue(session) -> dict:
    now = utcnow()
    rows = [queue_row(h, now) for h in handoffs.list_handoffs(session, statuses=ACTIVE_STATUSES)]
    return {"waiting": [r for r in rows if r["status"] == "open"],
            "active": [r for r in rows if r["status"] != "open"],
            "shift": shift_status(now)}  # whether anyone is on shift: what survivors writing now are told


@blueprint.get("/")
@signed_in()
async def queue(request: Request) -> HTTPResponse:
    if request.args.get("view") == "closed":
        closed = await in_session(request, lambda s: [queue_row(h, utcnow()) for h in handoffs.recently_closed(s)])
        return page("closed.html", advocate=request.ctx.advocate, rows=closed)
    lists = await in_session(request, _queue)
    return page("queue.html", advocate=request.ctx.advocate, poll_seconds=request.app.ctx.settings.poll_seconds,
                **lists)


@blueprint.get("/queue.json")
@signed_in(json_api=True)
async def queue_json(request: Request) -> HTTPResponse:
    return json(await in_session(request, _queue))


async def handoff_page(request: Request, handoff_id: int, error: str = "", status: int = 200,
                       draft: str = "") -> HTTPResponse:
    who = request.ctx.advocate
    lifecycle = request.app.ctx.lifecycle
    try:
        handoff = await lifecycle.open_conversation(handoff_id, who.name)
    except LookupError:
        return page("error.html", status=404, advocate=who, message=f"There is no handoff {handoff_id}.")
    lines, unavailable, may_reply = None, False, True  # unreadable: a refused reply says why
    try:
        lines, may_reply = await lifecycle.read(handoff)
    except RasaUnavailable:
        unavailable = True
    history = await in_session(request, lambda s: audit.recent(s, 50, handoff_id))
    holder = handoff.status == "claimed" and handoff.claimed_by == who.name
    return page("handoff.html", status=status, advocate=who, handoff=handoff, row=queue_row(handoff, utcnow()),
                lines=lines, transcript_unavailable=unavailable, error=error,
                done=DONE.get(request.args.get("done", "")) if not error else "", draft=draft,
                holder=holder, may_reply=may_reply,
                history=history, max_reply=MAX_REPLY_CHARS, poll_seconds=request.app.ctx.settings.poll_seconds)


async def _refused(request: Request, handoff_id: int, error: str, status: int) -> HTTPResponse:
    """The CSRF check failed: show the page again with the draft, and do nothing."""
    return await handoff_page(request, handoff_id, error=error, status=status,
                              draft=request.form.get("text", "") if request.form else "")


@blueprint.get("/handoffs/<handoff_id:int>")
@signed_in()
async def show_handoff(request: Request, handoff_id: int) -> HTTPResponse:
    return await handoff_page(request, handoff_id)


@blueprint.get("/handoffs/<handoff_id:int>/transcript.json")
@signed_in(json_api=True)
async def transcript_json(request: Request, handoff_id: int) -> HTTPResponse:
    """The transcript the handoff page polls. Reading it is opening the conversation, so it is
    audited like the page (a script fetching only this must leave the same trace)."""
    lifecycle = request.app.ctx.lifecycle
    try:
        handoff = await lifecycle.open_conversation(handoff_id, request.ctx.advocate.name)
    except LookupError:
        return json({"error": "not found"}, status=404)
    try:
        lines = await lifecycle.transcript(handoff)
    except RasaUnavailable:
        return json({"error": "the assistant did not answer"}, status=502)
    return json({"status": handoff.status, "lines": [line.to_dict() for line in lines]})


async def _step(request: Request, handoff_id: int, done: str, step) -> HTTPResponse:
    """Run one step; back to the handoff page, with why it failed if it did."""
    draft = request.form.get("text", "")
    try:
        await step()
    except LookupError:
        return page("error.html", status=404, advocate=request.ctx.advocate, message=f"There is no handoff {handoff_id}.")
    except HandoffStateError as error:
        return await handoff_page(request, handoff_id, error=str(error), status=409, draft=draft)
    except ValueError as error:
        return await handoff_page(request, handoff_id, error=str(error), status=400, draft=draft)
    except RasaUnavailable:
        return await handoff_page(request, handoff_id, status=502, draft=draft,
                                  error="The assistant could not be reached, so nothing was done. Try again.")
    anchor = "#reply" if done in ("claimed", "taken_over", "replied") else ""
    return redirect(f"/handoffs/{handoff_id}?done={done}{anchor}", status=303)


@blueprint.post("/handoffs/<handoff_id:int>/claim")
@signed_in(on_csrf_failure=_refused)
async def claim(request: Request, handoff_id: int) -> HTTPResponse:
    return await _step(request, handoff_id, "claimed",
                       lambda: request.app.ctx.lifecycle.claim(handoff_id, request.ctx.advocate.name))


@blueprint.post("/handoffs/<handoff_id:int>/takeover")
@signed_in(on_csrf_failure=_refused)
async def take_over(request: Request, handoff_id: int) -> HTTPResponse:
    return await _step(request, handoff_id, "taken_over",
                       lambda: request.app.ctx.lifecycle.take_over(handoff_id, request.ctx.advocate.name))


@blueprint.post("/handoffs/<handoff_id:int>/reply")
@signed_in(on_csrf_failure=_refused)
async def reply(request: Request, handoff_id: int) -> HTTPResponse:
    return await _step(request, handoff_id, "replied",
                       lambda: request.app.ctx.lifecycle.reply(handoff_id, request.ctx.advocate.name,
                                                               request.form.get("text", "")))


@blueprint.post("/handoffs/<handoff_id:int>/handback")
@signed_in(on_csrf_failure=_refused)
async def hand_back(request: Request, handoff_id: int) -> HTTPResponse:
    return await _step(request, handoff_id, "handed_back",
                       lambda: request.app.ctx.lifecycle.hand_back(handoff_id, request.ctx.advocate.name))


@blueprint.post("/handoffs/<handoff_id:int>/close")
@signed_in(on_csrf_failure=_refused)
async def close(request: Request, handoff_id: int) -> HTTPResponse:
    return await _step(request, handoff_id, "closed",
                       lambda: request.app.ctx.lifecycle.close(handoff_id, request.ctx.advocate.name,
                                                               request.form.get("outcome", "")))


@blueprint.get("/audit")
@signed_in()
async def audit_log(request: Request) -> HTTPResponse:
    entries = await in_session(request, lambda s: audit.recent(s, 300))
    return page("audit.html", advocate=request.ctx.advocate, entries=entries, outcomes=OUTCOMES)
