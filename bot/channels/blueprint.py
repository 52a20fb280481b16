"""What every channel's blueprint starts with, written once so that no channel can miss it: its
turns always answered (fallback.always_answered: the 24/7 lines, or the emergency words and a
handoff, when a turn fails or is late), and its own words read from the running server's domain
(channel_responses.Words, attached before the server starts)."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Text, Tuple

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint

from bot.channels.channel_responses import Words
from bot.channels.fallback import always_answered

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def channel_blueprint(name: Text, import_name: Text, words: Words,
                      on_new_message: OnNewMessage) -> Tuple[Blueprint, OnNewMessage]:
    """A channel's blueprint, and the message handler it must use (Rasa's, always answered)."""
    blueprint = Blueprint(name, import_name)

    @blueprint.listener("before_server_start")
    async def attach(app: Any, _loop: Any) -> None:
        words.attach(app)

    return blueprint, always_answered(on_new_message)
