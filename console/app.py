"""The console's HTTP app: readiness (`/healthz`), the advocates' pages, the JSON API behind
bearer tokens, security headers on every answer (HSTS too, over HTTPS), per-address rate limits on sign-in (auth.py)
and on the API (429 with Retry-After; infra.rate_limits), and the background watch for
handoffs nobody has claimed.

Database calls are short but blocking, so they run in a worker thread (console.database) and never
stall the loop.
"""
from __future__ import annotations

import asyncio
from json import loads as parse_json
from pathlib import Path
from typing import Optional

import aiohttp
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json
from sqlalchemy import text
from sqlalchemy.engine import Engine

from console import account_page as account
from console import api, auth, pages
from console import settings as console_settings
from console.database import in_session
from console.lifecycle import Lifecycle, watch_unclaimed
from console.rasa_api import RasaApi
from console.render import STATIC
from infra import twilio_client
from infra.rate_limits import address_limit, client_address

# No inline script or style anywhere: the pages load /static/console.js and /static/console.css.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                           "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
# Once a browser has seen the console over HTTPS, it never again speaks plain HTTP to it (nor
# lets an advocate click through a certificate warning): a network in the middle cannot strip TLS.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def create_app(engine: Optional[Engine] = None, name: str = "navigator_console",
               settings: Optional[console_settings.Settings] = None) -> Sanic:
    app = Sanic(name)
    app.config.ACCESS_LOG = False  # URLs may carry handoff ids; nothing personal in logs
    app.config.REQUEST_MAX_SIZE = 64 * 1024  # forms only: a reply is at most a few kB
    app.ctx.engine = engine
    app.ctx.settings = settings or console_settings.load()
    app.ctx.rasa = RasaApi(app.ctx.settings.rasa_url, app.ctx.settings.rasa_token)
    app.ctx.lifecycle = Lifecycle(engine, app.ctx.rasa)
    app.ctx.sign_in_limits = address_limit("SIGN_IN")
    app.ctx.api_limits = address_limit("CONSOLE_API")

    app.blueprint(api.blueprint)
    app.blueprint(auth.blueprint)
    app.blueprint(pages.blueprint)
    app.blueprint(account.blueprint)
    app.static("/static", str(STATIC), name="static")

    @app.get("/healthz")
    async def healthz(request: Request) -> HTTPResponse:
        """200 when the database answers and every watched process (CONSOLE_WATCH_URLS: the Rasa
        server and the action server under `navigator serve`) answers 200; else 503 naming
        what is down, so that monitoring sees a fault survivors only meet as the fallback lines.
        Under `navigator serve` also a process it is restarting (503, `"actions": "restarting"`)
        and, always, how many times it restarted each (`"restarts": {"actions": 1, ...}`)."""
        faults = {}
        try:
            await in_session(request, lambda session: session.execute(text("SELECT 1")).scalar())
        except Exception as error:  # any database fault means "not ready"
            faults["database"] = type(error).__name__
        watched = app.ctx.settings.watched
        for (name, _url), up in zip(watched, await asyncio.gather(*(answers_ok(url) for _name, url in watched))):
            if not up:
                faults[name] = "unreachable"
        restarting, restarts = supervisor_status(app.ctx.settings.status_file)
        faults.update(restarting)
        body = {"restarts": restarts} if restarts else {}
        if faults:
            return json({"status": "unavailable", **faults, **body}, status=503)
        return json({"status": "ok", **body})

    @app.middleware("request")
    async def limit_the_api(request: Request) -> Optional[HTTPResponse]:
        if not request.path.startswith("/api/"):
            return None
        decision = app.ctx.api_limits.check(address=client_address(request))
        if decision.allowed:
            return None
        return json({"error": "too many requests"}, status=429, headers={"Retry-After": str(decision.retry_after)})

    @app.middleware("response")
    async def security_headers(request: Request, response: HTTPResponse) -> None:
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        if request.scheme == "https" or app.ctx.settings.cookie_secure == "true":  # HTTPS per the proxy, or said so
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)

    @app.after_server_start
    async def start_watch(app: Sanic, _loop) -> None:
        s = app.ctx.settings
        app.ctx.watch = asyncio.create_task(
            watch_unclaimed(app.ctx.lifecycle, s.unclaimed_after, s.unclaimed_check_seconds))

    @app.before_server_stop
    async def stop_watch(app: Sanic, _loop) -> None:
        app.ctx.watch.cancel()
        await app.ctx.rasa.close()
        await twilio_client.aclose()  # the alerts' Twilio session: Sanic never closes it itself

    return app


WATCH_TIMEOUT_S = 3.0


def supervisor_status(path: str) -> tuple[dict, dict]:
    """({name: "restarting"}, {name: restarts}) from the status file `navigator serve` keeps
    (navigator.serve.StatusFile, path in NAVIGATOR_STATUS_FILE). Without a readable file (a
    console started alone) both are empty and /healthz says what it always said."""
    if not path:
        return {}, {}
    try:
        processes = parse_json(Path(path).read_text())["processes"]
        restarting = {name: "restarting" for name, process in processes.items() if process["state"] == "restarting"}
        restarts = {name: int(process["restarts"]) for name, process in processes.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, {}
    return restarting, restarts


async def answers_ok(url: str) -> bool:
    """Whether `url` answers 200 within WATCH_TIMEOUT_S."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WATCH_TIMEOUT_S)) as http:
            async with http.get(url) as response:
                return response.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False
