"""The advocate's own settings: how survivors see them when they join a chat (a first name or a
role, console.accounts.check_display_name). Survivors are told "Hi, I'm Maria, an advocate";
without a name, "Hi, I'm an advocate"."""
from __future__ import annotations

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, redirect

from console import accounts as advocates
from console.auth import signed_in
from console.database import in_session
from console.render import page

blueprint = Blueprint("account")


async def account_page(request: Request, status: int = 200, error: str = "", draft: str | None = None,
                       saved: bool = False) -> HTTPResponse:
    who = request.ctx.advocate
    current = await in_session(request, lambda s: getattr(advocates.find_advocate(s, who.name), "display_name", None))
    return page("account.html", status=status, advocate=who, error=error, saved=saved,
                display_name=current or "", draft=(current or "") if draft is None else draft)


async def _refused(request: Request, error: str, status: int) -> HTTPResponse:
    return await account_page(request, status=status, error=error, draft=request.form.get("display_name", ""))


@blueprint.get("/account")
@signed_in()
async def show(request: Request) -> HTTPResponse:
    return await account_page(request, saved=request.args.get("saved") == "1")


@blueprint.post("/account")
@signed_in(on_csrf_failure=_refused)
async def save(request: Request) -> HTTPResponse:
    wanted = request.form.get("display_name", "")
    try:
        await in_session(request, lambda s: advocates.set_display_name(s, request.ctx.advocate.name, wanted))
    except ValueError as error:
        return await account_page(request, status=400, error=str(error), draft=wanted)
    return redirect("/account?saved=1", status=303)
