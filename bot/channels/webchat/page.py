"""The web chat's page side, served by the Rasa server beside the socket: the widget's script
(its labels filled in from the domain's responses, so every word stays in domain.yml), its style,
and a demo agency page at /webchat/demo that embeds it.

Nothing of a visit is cached or passed on (PRIVATE_HEADERS), and the demo page loads nothing
inline and nothing from another site; only WEBCHAT_ALLOWED_ORIGINS may frame it.
"""
from __future__ import annotations

import html
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import List, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.channel_responses import Words
from bot.dialogue import (
    UTTER_PART_WEBCHAT_ADVOCATE,
    UTTER_PART_WEBCHAT_CONNECTING,
    UTTER_PART_WEBCHAT_ERASE,
    UTTER_PART_WEBCHAT_ERASE_NO,
    UTTER_PART_WEBCHAT_ERASE_QUESTION,
    UTTER_PART_WEBCHAT_ERASE_YES,
    UTTER_PART_WEBCHAT_ERASED,
    UTTER_PART_WEBCHAT_EXIT,
    UTTER_PART_WEBCHAT_EXIT_HINT,
    UTTER_PART_WEBCHAT_HELPER,
    UTTER_PART_WEBCHAT_INPUT_LABEL,
    UTTER_PART_WEBCHAT_RECONNECTING,
    UTTER_PART_WEBCHAT_SEND,
    UTTER_PART_WEBCHAT_TITLE,
    UTTER_PART_WEBCHAT_YOU,
    UTTER_WEBCHAT_WELCOME,
)

STATIC = Path(__file__).with_name("static")
DEFAULT_EXIT_URL = "https://www.google.com/"

# The widget's words (domain.yml), by the key widget.js reads them under.
WIDGET_WORDS = {
    "title": UTTER_PART_WEBCHAT_TITLE,
    "welcome": UTTER_WEBCHAT_WELCOME,
    "input": UTTER_PART_WEBCHAT_INPUT_LABEL,
    "send": UTTER_PART_WEBCHAT_SEND,
    "exit": UTTER_PART_WEBCHAT_EXIT,
    "exitHint": UTTER_PART_WEBCHAT_EXIT_HINT,
    "you": UTTER_PART_WEBCHAT_YOU,
    "helper": UTTER_PART_WEBCHAT_HELPER,
    "advocate": UTTER_PART_WEBCHAT_ADVOCATE,
    "erase": UTTER_PART_WEBCHAT_ERASE,
    "eraseQuestion": UTTER_PART_WEBCHAT_ERASE_QUESTION,
    "eraseYes": UTTER_PART_WEBCHAT_ERASE_YES,
    "eraseNo": UTTER_PART_WEBCHAT_ERASE_NO,
    "erased": UTTER_PART_WEBCHAT_ERASED,
    "connecting": UTTER_PART_WEBCHAT_CONNECTING,
    "reconnecting": UTTER_PART_WEBCHAT_RECONNECTING,
}

# Nothing of a visit is kept or passed on: no caching, no Referer to the exit site.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                   "X-Content-Type-Options": "nosniff"}
# The demo page: nothing inline, nothing from elsewhere; framed only by WEBCHAT_ALLOWED_ORIGINS.
DEMO_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}")


def demo_policy(origins: List[Text]) -> Text:
    return DEMO_POLICY.format(ancestors=" ".join(["'self'", *origins]))


def exit_url() -> Text:
    """Where the demo page's quick exit goes (WEBCHAT_EXIT_URL): a neutral site."""
    return os.environ.get("WEBCHAT_EXIT_URL") or DEFAULT_EXIT_URL


@lru_cache(maxsize=None)
def static_text(name: Text) -> Text:
    return (STATIC / name).read_text(encoding="utf-8")


def add_routes(webchat: Blueprint, words: Words, origins: List[Text]) -> None:
    """The page side's routes on the web chat's blueprint."""
    @webchat.route("/widget.js", methods=["GET"])
    async def widget(_: Request) -> HTTPResponse:
        try:
            texts = await words.texts(list(WIDGET_WORDS.values()))
        except LookupError:
            return response.text("the assistant is starting; try again in a moment", status=503)
        labels = {key: texts[name] for key, name in WIDGET_WORDS.items()}
        script = static_text("widget.js").replace("/*WORDS*/{}", json.dumps(labels, ensure_ascii=True), 1)
        return response.text(script, content_type="text/javascript; charset=utf-8", headers=PRIVATE_HEADERS)

    @webchat.route("/widget.css", methods=["GET"])
    async def widget_css(_: Request) -> HTTPResponse:
        return response.text(static_text("widget.css"), content_type="text/css; charset=utf-8",
                             headers=PRIVATE_HEADERS)

    @webchat.route("/demo", methods=["GET"])
    async def demo(_: Request) -> HTTPResponse:
        page = static_text("page.html").replace("{exit_url}", html.escape(exit_url(), quote=True))
        policy = demo_policy(origins)
        return response.html(page, headers={**PRIVATE_HEADERS, "Content-Security-Policy": policy})

    @webchat.route("/demo.css", methods=["GET"])
    async def demo_css(_: Request) -> HTTPResponse:
        return response.text(static_text("page.css"), content_type="text/css; charset=utf-8",
                             headers=PRIVATE_HEADERS)
