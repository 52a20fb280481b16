"""How much the Rasa server takes in, how fast it checks the action server's answers
(bot/action_answer_check.py), the security headers on everything it answers (Rasa's own
pages and HTTP API included), and its production-mode start-up check (navigator.production), set
by our channels as Rasa registers them, so that no Rasa file changes. Settings the survivor's
words depend on (staffed hours, confidentiality text) are checked here too, at start.

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

import rasa.core.actions.action
from sanic import Blueprint

from bot import action_answer_check
from navigator import config, shifts
from navigator.production import exit_if_unsafe

ACTION_TIMEOUT_S = 10  # a custom action takes milliseconds; a search on a large directory, well under a second
REQUEST_MAX_BYTES = 64 * 1024
WEBSOCKET_MAX_BYTES = 32 * 1024
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
NOTHING_ALLOWED = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def apply(blueprint: Blueprint) -> None:
    """Have the server that registers `blueprint` keep these limits and headers (once, however
    many channels ask). In the main process, before Sanic builds its protocol from the config.
    A Rasa server started alone in production mode stops here if a secret is missing."""
    exit_if_unsafe("rasa server")
    shifts.check()  # the fallback tells survivors who is on shift: a bad setting stops the server here
    config.confidentiality_text()
    action_answer_check.install()
    rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT = ACTION_TIMEOUT_S  # RemoteAction.run reads it per call

    @blueprint.listener("main_process_start")
    async def limit_and_protect(app: Any, _loop: Any) -> None:
        if getattr(app.ctx, "navigator_server_policy", False):
            return
        app.ctx.navigator_server_policy = True
        app.config.REQUEST_MAX_SIZE = min(app.config.REQUEST_MAX_SIZE, REQUEST_MAX_BYTES)
        app.config.WEBSOCKET_MAX_SIZE = min(app.config.WEBSOCKET_MAX_SIZE, WEBSOCKET_MAX_BYTES)
        app.register_middleware(security_headers, "response")


async def security_headers(_request: Any, response: Any) -> None:
    if response is None:
        return
    for header, value in HEADERS.items():
        response.headers.setdefault(header, value)
    if "content-security-policy" not in response.headers:
        response.headers["Content-Security-Policy"] = NOTHING_ALLOWED
        response.headers.setdefault("X-Frame-Options", "DENY")
