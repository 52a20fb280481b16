"""How much the Rasa server takes in, how fast it checks the action server's answers
(bot/action_answer_check.py), the security headers on everything it answers (Rasa's own
pages and HTTP API included), and its production-mode start-up check (infra.production).

The SERVER applies this, not each channel: navigator/rasa_server.py (how the navigator starts every Rasa
server) runs `check_settings()` before Rasa starts and `install(app)` on the Sanic app Rasa
builds, whatever channels the credentials file opens. A channel that forgot to ask for the policy
once let a Rasa server with only the SMS line skip all of it (issue 14, finding 4); now no
channel can forget, and none needs to know. Settings the survivor's words depend on (staffed
hours, confidentiality text) are checked here too, at start.

- Request bodies of at most 64 KiB and WebSocket frames of at most 32 KiB: a survivor's message
  is a few kB at most (incoming.MAX_TEXT_CHARS), and a huge body is refused (413, or a closed
  socket) before it is read, instead of Sanic's 100 MB and 1 MiB.
- A custom action that has not answered within ACTION_TIMEOUT_S has failed (Rasa waits 5 minutes),
  so a stalled action server holds a conversation's turn, and its lock, for seconds, not minutes;
  the survivor has been answered long before (fallback.TURN_DEADLINE_S).
- Every answer: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and
  `Cache-Control: no-store` (replies, trackers and transcripts are conversations: no cache keeps
  them). An answer that sets no Content-Security-Policy of its own (JSON, Rasa's pages) gets one
  that allows nothing, framing included. The web chat sets its own (webchat.py).
"""
from __future__ import annotations

from typing import Any

from conversations import shifts
from infra import config
from infra.production import exit_if_unsafe

ACTION_TIMEOUT_S = 10  # a custom action takes milliseconds; a search on a large directory, well under a second
REQUEST_MAX_BYTES = 64 * 1024
WEBSOCKET_MAX_BYTES = 32 * 1024
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
NOTHING_ALLOWED = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def check_settings() -> None:
    """Stop the Rasa server before it starts (before its model loads) when a setting is wrong: in
    production mode, a missing secret (infra.production: each server would otherwise make
    its own secret key, so texters' keys would differ between servers); always, staffed hours and
    confidentiality words that survivors would be told wrongly."""
    exit_if_unsafe("rasa server")
    shifts.check()  # the fallback tells survivors who is on shift: a bad setting stops the server here
    config.confidentiality_text()


def install(app: Any) -> None:
    """Keep these limits and headers on `app`, the Sanic app of a Rasa server (idempotent). Called
    once Rasa has built the app and before it runs it, so Sanic builds its protocol (and so its
    body and frame limits) from this config. (Rasa is imported here, not above, so that
    check_settings refuses a wrong setting in a second, before TensorFlow loads.)"""
    import rasa.core.actions.action  # late, as the docstring says: check_settings must not wait for TensorFlow

    from bot import action_answer_check  # it imports Rasa too

    action_answer_check.install()
    rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT = ACTION_TIMEOUT_S  # RemoteAction.run reads it per call
    if installed(app):
        return
    app.ctx.navigator_server_policy = True
    app.config.REQUEST_MAX_SIZE = min(app.config.REQUEST_MAX_SIZE, REQUEST_MAX_BYTES)
    app.config.WEBSOCKET_MAX_SIZE = min(app.config.WEBSOCKET_MAX_SIZE, WEBSOCKET_MAX_BYTES)
    app.register_middleware(security_headers, "response")


def installed(app: Any) -> bool:
    """Whether `app` keeps the policy (navigator/rasa_server.py refuses to run an app that does not)."""
    return bool(getattr(app.ctx, "navigator_server_policy", False))


async def security_headers(_request: Any, response: Any) -> None:
    if response is None:
        return
    for header, value in HEADERS.items():
        response.headers.setdefault(header, value)
    if "content-security-policy" not in response.headers:
        response.headers["Content-Security-Policy"] = NOTHING_ALLOWED
        response.headers.setdefault("X-Frame-Options", "DENY")
