"""Signing advocates in and out, and guarding every page behind a session and every POST behind
a CSRF token.

- The session cookie is HttpOnly, SameSite=Strict, and Secure over HTTPS (CONSOLE_COOKIE_SECURE).
  A Secure cookie is named with the `__Host-` prefix, so the browser takes it only from this
  exact host over HTTPS with Path=/ and no Domain: a sibling subdomain or a plain-HTTP answer
  cannot plant a session (or a sign-in CSRF cookie) on an advocate. Over plain HTTP (development
  on localhost) the prefix is impossible, so the names depend on whether the cookies are Secure,
  and each request reads only the names it would set.
- Every POST carries the session's CSRF token in a hidden field; the sign-in form, which has no
  session yet, carries one that must equal a cookie of its own (double submit). Browsers that
  say a request came from another site (Sec-Fetch-Site: cross-site) are refused outright.
- Failed sign-ins lock out the guessing address (for that name, or for all names after many),
  never the name everywhere; a name with many failures only makes each attempt wait a few
  seconds (console.accounts, which says why). An address may also try to sign in only so
  often (RATE_LIMIT_SIGN_IN_*, infra.rate_limits).
- The pages' background polling (the GETs of `signed_in(json_api=True)` routes) does not
  restart the session's idle clock (console/sessions.py), unless the page says the advocate
  typed, clicked or scrolled since its last poll (`X-Console-Activity: 1`, from console.js).
"""
from __future__ import annotations

import asyncio
import hmac
import secrets
from functools import wraps
from typing import Awaitable, Callable, Optional
from urllib.parse import quote

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, json, redirect

from console import audit
from console.accounts import find_advocate, sign_in, sign_in_delay
from console.database import in_session
from console.render import page
from console.sessions import delete_expired_sessions, end_session, resume_session, start_session
from infra.rate_limits import client_address

SESSION_COOKIE = "nav_session"
SIGN_IN_CSRF_COOKIE = "nav_signin_csrf"
SECURE_PREFIX = "__Host-"  # Secure, Path=/, no Domain: only this host over HTTPS can set it
ACTIVITY_HEADER = "x-console-activity"  # "1" from console.js: the advocate did something since the last poll

blueprint = Blueprint("auth")


def cookies_secure(request: Request) -> bool:
    setting = request.app.ctx.settings.cookie_secure
    return setting == "true" or (setting == "auto" and request.scheme == "https")


def cookie_name(request: Request, name: str) -> str:
    """The name the cookie `name` has in this request: `__Host-` prefixed when it is Secure."""
    return SECURE_PREFIX + name if cookies_secure(request) else name


def read_cookie(request: Request, name: str) -> Optional[str]:
    return request.cookies.get(cookie_name(request, name))


def set_cookie(request: Request, response: HTTPResponse, name: str, value: str, max_age: Optional[int] = None) -> None:
    name = cookie_name(request, name)
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"  # and never a Domain: both are what the __Host- prefix requires
    if cookies_secure(request):
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


def same_token(given: Optional[str], expected: Optional[str]) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def cross_site(request: Request) -> bool:
    return request.headers.get("sec-fetch-site", "").lower() == "cross-site"


def safe_next(target: Optional[str]) -> str:
    """Only a path on this console (never `//elsewhere` or a full URL) may follow sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def advocate_acted(request: Request, background: bool) -> bool:
    """Whether this request is something the advocate did (and so restarts the idle clock): any
    page or form, but a background poll only when console.js saw them type, click or scroll."""
    return not background or request.headers.get(ACTIVITY_HEADER, "") == "1"


def signed_in(json_api: bool = False,
              on_csrf_failure: Optional[Callable[..., Awaitable[HTTPResponse]]] = None):
    """Let the handler run only for a signed-in advocate (`request.ctx.advocate`), and only
    with the session's CSRF token on a POST. A GET of a `json_api` route is what the pages poll
    by themselves (queue.json, transcript.json), so it does not restart the idle clock."""
    def decorator(handler):
        @wraps(handler)
        async def guarded(request: Request, *args, **kwargs) -> HTTPResponse:
            token = read_cookie(request, SESSION_COOKIE)
            acted = advocate_acted(request, background=json_api and request.method == "GET")
            who = await in_session(request, lambda s: resume_session(s, token, request.app.ctx.settings.sessions,
                                                                     activity=acted))
            if who is None:
                if json_api:
                    return json({"error": "signed out"}, status=401)
                target = request.path if request.method == "GET" else "/"
                return redirect(f"/login?next={quote(target)}", status=303)
            request.ctx.advocate = who
            if request.method == "POST" and (cross_site(request)
                                             or not same_token(request.form.get("csrf_token"), who.csrf_token)):
                message = "This form was out of date, so nothing was done. Check it and send it again."
                if on_csrf_failure is not None:
                    return await on_csrf_failure(request, *args, error=message, status=403, **kwargs)
                return page("error.html", status=403, advocate=who, message=message)
            return await handler(request, *args, **kwargs)
        return guarded
    return decorator


def sign_in_page(request: Request, status: int = 200, error: str = "", name: str = "") -> HTTPResponse:
    csrf = secrets.token_urlsafe(32)
    target = request.form.get("next") if request.method == "POST" else request.args.get("next")
    response = page("login.html", status=status, error=error, name=name, csrf_token=csrf, next=safe_next(target))
    set_cookie(request, response, SIGN_IN_CSRF_COOKIE, csrf)
    return response


@blueprint.get("/login")
async def login_form(request: Request) -> HTTPResponse:
    return sign_in_page(request)


@blueprint.post("/login")
async def login(request: Request) -> HTTPResponse:
    form = request.form
    name = (form.get("name") or "").strip()
    if cross_site(request) or not same_token(form.get("csrf_token"), read_cookie(request, SIGN_IN_CSRF_COOKIE)):
        return sign_in_page(request, 403, "This page was out of date. Please sign in again.", name)
    decision = request.app.ctx.sign_in_limits.check(address=client_address(request))
    if not decision.allowed:
        response = sign_in_page(request, 429, "Too many sign-in attempts from this address. Wait a minute, "
                                              "then try again.", name)
        response.headers["Retry-After"] = str(decision.retry_after)
        return response
    settings = request.app.ctx.settings
    delay = await in_session(request, lambda s: sign_in_delay(s, name, settings.lockout))
    if delay:  # many recent failures for this name, from anywhere: slow, never locked
        await asyncio.sleep(delay)

    def attempt(session):
        result = sign_in(session, name, form.get("password") or "", client_address(request, local_peer_counts=True),
                         settings.lockout)
        if result.advocate is None:
            known = find_advocate(session, name) if name else None
            audit.record(session, known.name if known else "(unknown name)", "sign_in_refused",
                         detail="locked" if result.locked else "wrong_password")
            return result, None
        delete_expired_sessions(session, settings.sessions)
        token, who = start_session(session, result.advocate)
        audit.record(session, who.name, "signed_in")
        return result, token

    result, token = await in_session(request, attempt)
    if result.locked:
        minutes = round(settings.lockout.minutes)
        return sign_in_page(request, 429, f"Too many tries from here. Wait {minutes} minutes, then try again.", name)
    if token is None:
        return sign_in_page(request, 401, "That name and password do not match.", name)
    response = redirect(safe_next(form.get("next")), status=303)
    set_cookie(request, response, SESSION_COOKIE, token)
    set_cookie(request, response, SIGN_IN_CSRF_COOKIE, "", max_age=0)
    return response


@blueprint.post("/logout")
@signed_in()
async def logout(request: Request) -> HTTPResponse:
    token = read_cookie(request, SESSION_COOKIE)
    name = request.ctx.advocate.name

    def work(session):
        end_session(session, token)
        audit.record(session, name, "signed_out")
    await in_session(request, work)
    response = redirect("/login", status=303)
    set_cookie(request, response, SESSION_COOKIE, "", max_age=0)
    return response
