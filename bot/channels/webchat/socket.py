"""The web chat: a widget of the project's own, served by the Rasa server at /webchat/widget.js (page.py),
with a demo agency page at /webchat/demo, talking to the assistant over a WebSocket at
/webchat/socket.

Our own WebSocket channel rather than Rasa's socketio channel: the browser's WebSocket needs no
client library (socket.io's would have to be vendored and kept up to date, and a page must load
nothing from a third-party host), the protocol is ours to make safe (sessions the server issues,
a transcript restored after a dropped connection, an exit that ends the conversation, an erase
that deletes it), and it carries advocates' replies just as well, marked as a person's. Like
socketio it pushes to sockets held by this process, so it needs one Sanic worker per conversation
(Rasa runs one by default).

Protocol (JSON text frames):
  browser -> server  {"type": "hello", "session": ID|null, "secret": SECRET|null, "seen": N, "full": bool}
                     {"type": "message", "id": ID, "text": TEXT}   {"type": "exit"}   {"type": "erase"}
                     {"type": "ping"}
  server -> browser  {"type": "session", "session": ID, "secret": SECRET (a new session only)}
                     {"type": "history", "full": bool,
                      "messages": [{"from": "user"|"bot", "text", "buttons", "advocate": true?}]}
                     {"type": "bot", "text": TEXT, "buttons": [{"title", "payload"}], "advocate": true?, "note": bool}
                     {"type": "done", "id": ID}   {"type": "erased"}   {"type": "pong"}
A session id is not a key (it is the conversation id the console API, the console and logs show):
a new session comes with a resume secret (32 random bytes) that only that browser tab holds, and
the server keeps only its hash, in DATABASE_URL (webchat_sessions.py), so any Rasa server can
check it. A hello resumes a session, gets its history and joins its live replies only with the
session's secret; a hello with a wrong or missing secret, or with an id the server never issued
(or has erased, purged or quick-exited), gets a new, empty session: a "session" frame with a new
id and secret, then an empty history. Nothing of the session it named is sent; the widget, seeing
a new id, clears what it showed of the old one.
A bot frame with "note": true is the channel's own word (slow down; only the first part of a long
message was read; an error), not in the transcript, so the widget does not count it among the
messages it has seen. "advocate": true (present only then) marks what a person, an advocate
through the console, wrote, live and in the history; who the advocate is never reaches the browser.
"exit" (quick exit) resets the conversation and leaves at once. "erase" (the widget's "Erase chat",
after the person confirms) deletes the conversation and every record of it from every store
(conversations.retention.erase_conversation, as an SMS DELETE does), after any turn of it still
running; then every socket of the session gets "erased" and is closed, and the session id is
never joined again (a hello with it starts a new, empty conversation). If the erase fails, the
socket gets the error words as a note and stays open.
The browser keeps only the session id and its secret, in sessionStorage, and forgets both on exit
and on erase; a quick exit also makes the server forget the secret (the session cannot be resumed).

Limits (infra.rate_limits): messages per session and per address (a message over the limit
still reaches the safety net, safety_net.py: an emergency or a held conversation is answered as
usual; anything else is kept and gets `utter_rate_limited`, which names 911 and the 24/7 lines), connections opened
per address, and at most WEBCHAT_SOCKETS_PER_ADDRESS open at once (default 100). Frames are at
most 32 KiB (server_policy). When WEBCHAT_ALLOWED_ORIGINS lists the agency sites that embed the
widget (space- or comma-separated origins), a WebSocket from a page of any other site, or from a
client that sends no Origin (not a browser page), is refused (403), and those sites (and the
navigator itself) are the only ones that may frame the demo page.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import re
import secrets
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Set, Text
from urllib.parse import urlsplit

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage
from rasa.shared.core.constants import EXTERNAL_MESSAGE_PREFIX
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from websockets.exceptions import ConnectionClosed

from bot.channels.blueprint import channel_blueprint
from bot.channels.channel_responses import Words
from bot.channels.incoming import exit_message, is_too_long, user_message
from bot.channels.safety_net import over_the_limit
from bot.channels.sender_ids import WEBCHAT_PREFIX
from bot.channels.webchat import page
from bot.channels.webchat import sessions as webchat_sessions
from bot.dialogue import UTTER_CHANNEL_ERROR, UTTER_MESSAGE_TOO_LONG, UTTER_RATE_LIMITED
from conversations.retention import erase_conversation
from infra.rate_limits import address_limit, client_address, survivor_limits

logger = logging.getLogger(__name__)

CHANNEL = "webchat"
SESSION_ID = re.compile(re.escape(WEBCHAT_PREFIX) + r"[A-Za-z0-9_-]{22}")
HELLO_TIMEOUT_S = 15
STOP_GRACE_S = 10.0
REMEMBERED_MESSAGE_IDS = 50  # per session: a message re-sent after a reconnect is not run twice
REMEMBERED_SESSIONS = 10_000
DEFAULT_SOCKETS_PER_ADDRESS = 100
TRY_AGAIN_LATER = 1013  # WebSocket close code
TOUCH_EVERY_S = 3600.0  # a session in use is marked seen (for retention) at most this often


ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")


def allowed_origins() -> List[Text]:
    """The sites that embed the widget (WEBCHAT_ALLOWED_ORIGINS), as origins; [] when unset."""
    origins = []
    for item in re.split(r"[\s,]+", os.environ.get("WEBCHAT_ALLOWED_ORIGINS") or ""):
        origin = item.strip().lower().rstrip("/")
        if not origin or origin in ("'self'", "self"):
            continue
        if not ORIGIN.fullmatch(origin):
            raise SystemExit(f"WEBCHAT_ALLOWED_ORIGINS: {item!r} is not an origin like https://agency.example.org")
        origins.append(origin)
    return origins


def sockets_per_address() -> int:
    """How many web chat sockets one address may hold open (WEBCHAT_SOCKETS_PER_ADDRESS)."""
    raw = os.environ.get("WEBCHAT_SOCKETS_PER_ADDRESS") or str(DEFAULT_SOCKETS_PER_ADDRESS)
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"WEBCHAT_SOCKETS_PER_ADDRESS must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def origin_allowed(origin: Optional[Text], host: Text, origins: List[Text]) -> bool:
    """May a page of `origin` open the chat? Any may when no origins are listed; else only the
    listed ones and the navigator's own pages (the demo). A client that sends no Origin is not
    a browser page (a browser always sends it with a WebSocket): refused when origins are listed,
    or a script could skip the check by leaving the header out."""
    if not origins:
        return True
    if not origin:
        return False
    origin = origin.strip().lower().rstrip("/")
    return origin in origins or urlsplit(origin).netloc == (host or "").lower()


def bot_message(message: Dict[Text, Any]) -> Dict[Text, Any]:
    """A bot message as the widget shows it: its text, its buttons, and whether an advocate wrote
    it (the console's `metadata.advocate`, merged into the message by Rasa), nothing else: never
    which advocate."""
    buttons = message.get("buttons") or message.get("quick_replies") or []
    shown = {"text": message.get("text") or "",
             "buttons": [{"title": b.get("title") or "", "payload": b.get("payload") or b.get("title") or ""}
                         for b in buttons]}
    if message.get("advocate"):
        shown["advocate"] = True
    return shown


def transcript(events: List[Any]) -> List[Dict[Text, Any]]:
    """What the person and the assistant (or an advocate) said since the conversation began."""
    lines = []
    for event in events:
        if isinstance(event, UserUttered) and event.text and not event.text.startswith(EXTERNAL_MESSAGE_PREFIX):
            lines.append({"from": "user", "text": event.text, "buttons": []})
        elif isinstance(event, BotUttered):
            lines.append({"from": "bot", **bot_message({**event.data, "text": event.text,
                                                        "advocate": (event.metadata or {}).get("advocate")})})
    return lines


class Sockets:
    """The open sockets of each conversation in this process."""

    def __init__(self) -> None:
        self.by_session: Dict[Text, Set[Any]] = collections.defaultdict(set)

    def add(self, session: Text, socket: Any) -> None:
        self.by_session[session].add(socket)

    def take(self, session: Text) -> Set[Any]:
        """Every open socket of the conversation, which no longer gets its messages."""
        return self.by_session.pop(session, set())

    def discard(self, session: Text, socket: Any) -> None:
        sockets = self.by_session.get(session)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.by_session[session]

    async def send(self, session: Text, frame: Dict[Text, Any]) -> None:
        data = json.dumps(frame)
        for socket in list(self.by_session.get(session, ())):
            try:
                await socket.send(data)
            except (ConnectionClosed, Exception):  # a closed tab gets it from the transcript
                self.discard(session, socket)


class WebChatOutput(OutputChannel):
    """Pushes a message to the conversation's open widgets: a turn's replies, and what an
    advocate sends through Rasa's API (`output_channel=latest`)."""

    def __init__(self, sockets: Sockets):
        self.sockets = sockets

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        await self.sockets.send(recipient_id, {"type": "bot", **bot_message(message)})

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})

    async def send_note(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        """The channel's own word, not in the transcript (see the protocol)."""
        await self.sockets.send(recipient_id, {"type": "bot", **bot_message(message), "note": True})


class WebChatInput(InputChannel):
    """Serves the widget and the demo page, and runs the widget's WebSocket."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls()

    def url_prefix(self) -> Text:
        return "/webchat"  # absolute: the widget lives at /webchat/, not under /webhooks/

    def __init__(self) -> None:
        self.words = Words(CHANNEL)
        self.sockets = Sockets()
        self.running: Set[asyncio.Task] = set()
        self.message_ids: "collections.OrderedDict[Text, Deque[Text]]" = collections.OrderedDict()
        self.erased: "collections.OrderedDict[Text, None]" = collections.OrderedDict()  # never joined again
        self.erase_conversation: Callable[[Text], Any] = erase_conversation  # blocking: run in a thread
        self.session_engine: Optional[Any] = None  # DATABASE_URL's engine (webchat_sessions), or a test's
        self.touched: "collections.OrderedDict[Text, float]" = collections.OrderedDict()
        self.origins = allowed_origins()
        self.limits = survivor_limits()
        self.connection_limits = address_limit("WEBCHAT_CONNECTIONS")
        self.sockets_per_address = sockets_per_address()
        self.open_sockets: "collections.Counter[Text]" = collections.Counter()

    def get_output_channel(self) -> OutputChannel:
        return WebChatOutput(self.sockets)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webchat, on_new_message = channel_blueprint("navigator_webchat", __name__, self.words, on_new_message)

        @webchat.listener("before_server_stop")
        async def finish(_app: Any, _loop: Any) -> None:
            if self.running:
                await asyncio.wait(set(self.running), timeout=STOP_GRACE_S)

        page.add_routes(webchat, self.words, self.origins)  # the widget's script and style, the demo page

        @webchat.middleware("request")
        async def refuse_other_sites(request: Request) -> Optional[HTTPResponse]:
            if request.path.endswith("/socket") and not origin_allowed(request.headers.get("origin"), request.host,
                                                                       self.origins):
                return response.text("Forbidden: this site may not open the chat", status=403)
            return None

        @webchat.websocket("/socket")
        async def socket(request: Request, ws: Any) -> None:
            address = client_address(request)
            if not await self._may_connect(ws, address):
                return
            session = None
            try:
                session = await self._greet(ws)
                if session:
                    await self._converse(ws, session, address, on_new_message)
            except ConnectionClosed:
                pass
            finally:
                if session:
                    self.sockets.discard(session, ws)
                if address is not None:
                    self.open_sockets[address] -= 1
                    if self.open_sockets[address] <= 0:
                        del self.open_sockets[address]

        return webchat

    async def _may_connect(self, ws: Any, address: Optional[Text]) -> bool:
        """Count the connection against its address, or say the kind words and close it."""
        if address is None:
            return True
        decision = self.connection_limits.check(address=address)
        if decision.allowed and self.open_sockets[address] < self.sockets_per_address:
            self.open_sockets[address] += 1
            return True
        if decision.allowed or decision.first_refusal:  # said once, not at every reconnection
            await ws.send(json.dumps({"type": "bot", **bot_message(await self._limited_words()), "note": True}))
        await ws.close(code=TRY_AGAIN_LATER, reason="too many connections; try again in a minute")
        return False

    async def _limited_words(self) -> Dict[Text, Any]:
        """The kind `utter_rate_limited`, in the default variation: a refusal reads no conversation."""
        return await self.words.response(UTTER_RATE_LIMITED)

    async def _greet(self, ws: Any) -> Optional[Text]:
        """Read the hello, resume the session it names if it brings that session's secret, or
        start a new one; send what the widget has not seen."""
        hello = _frame(await ws.recv(timeout=HELLO_TIMEOUT_S))
        if hello.get("type") != "hello":
            await ws.close(code=1008, reason="expected hello")
            return None
        session = hello.get("session")
        full = hello.get("full") is True
        if not await self._may_resume(session, hello.get("secret")):
            session, secret = await self._new_session()
            await ws.send(json.dumps({"type": "session", "session": session, "secret": secret}))
            await ws.send(json.dumps({"type": "history", "full": full, "messages": []}))
            self.sockets.add(session, ws)
            return session
        self._touched_now(session)  # resuming marked it seen
        seen = hello.get("seen") if isinstance(hello.get("seen"), int) and hello["seen"] >= 0 else 0
        agent = self.words.agent
        # Under the conversation's lock, a turn still running finishes (and is saved) first, so a
        # widget coming back mid-turn gets its replies from the transcript or live, never neither.
        # An advocate's reply waits for the lock too, so it comes after the history, in order.
        async with agent.lock_store.lock(session, wait_time_in_seconds=0.1):
            tracker = await agent.tracker_store.retrieve_full_tracker(session)
            lines = transcript(tracker.events_after_latest_restart() if tracker else [])
            if not full:
                lines = [line for line in lines if line["from"] == "bot"][seen:]
            await ws.send(json.dumps({"type": "session", "session": session}))
            await ws.send(json.dumps({"type": "history", "full": full, "messages": lines}))
            self.sockets.add(session, ws)
        return session

    async def _may_resume(self, session: Any, secret: Any) -> bool:
        """Did the server issue this session, with this secret, and not erase it?"""
        if not (isinstance(session, str) and SESSION_ID.fullmatch(session)) or session in self.erased:
            return False
        try:
            return await asyncio.to_thread(webchat_sessions.resume, session, secret, self.session_engine)
        except Exception as error:  # by type only; the database being down must not open the session
            logger.error("a web chat session could not be checked (%s); a new one starts", type(error).__name__)
            return False

    async def _new_session(self) -> "tuple[Text, Text]":
        """A new session id and its resume secret (its hash kept in DATABASE_URL). If the database
        cannot take it, the person can still chat (safety first); only resuming will not work."""
        session = WEBCHAT_PREFIX + secrets.token_urlsafe(16)
        try:
            secret = await asyncio.to_thread(webchat_sessions.issue, session, self.session_engine)
        except Exception as error:
            logger.error("a web chat session could not be recorded (%s); it cannot be resumed",
                         type(error).__name__)
            secret = webchat_sessions.new_secret()  # matches nothing stored
        self._touched_now(session)
        return session, secret

    def _touched_now(self, session: Text) -> None:
        self.touched[session] = asyncio.get_running_loop().time()
        self.touched.move_to_end(session)
        while len(self.touched) > REMEMBERED_SESSIONS:
            self.touched.popitem(last=False)

    async def _keep_alive(self, session: Text) -> None:
        """Mark a session in use as seen, at most once every TOUCH_EVERY_S in this process, so a
        chat left open for weeks is not purged as idle while its conversation is kept."""
        last = self.touched.get(session)
        if last is not None and asyncio.get_running_loop().time() - last < TOUCH_EVERY_S:
            return
        self._touched_now(session)
        try:
            await asyncio.to_thread(webchat_sessions.touch, session, self.session_engine)
        except Exception as error:
            logger.warning("a web chat session could not be marked as seen (%s)", type(error).__name__)

    async def _converse(self, ws: Any, session: Text, address: Optional[Text],
                        on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        while True:
            frame = _frame(await ws.recv())
            kind = frame.get("type")
            if kind == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            if kind == "exit":
                self._run_in_background(self._end(session, on_new_message))
                await ws.close()
                return
            if kind == "erase":
                if await asyncio.shield(self._run_in_background(self._erase(session, ws))):
                    return
                continue
            if session in self.erased:  # erased from another tab: this one gets "erased" and is closed
                continue
            if kind != "message" or not isinstance(frame.get("text"), str):
                continue
            message_id = str(frame.get("id") or "")[:64]
            if not self._first_time(session, message_id):
                await ws.send(json.dumps({"type": "done", "id": message_id}))
                continue
            limited = not self.limits.check(sender=session, address=address).allowed
            await self._keep_alive(session)
            turn = self._run_in_background(self._turn(session, frame["text"], on_new_message, limited))
            await asyncio.shield(turn)  # a closing socket must not cut the turn short
            await ws.send(json.dumps({"type": "done", "id": message_id}))

    def _first_time(self, session: Text, message_id: Text) -> bool:
        if not message_id:
            return True
        seen = self.message_ids.setdefault(session, collections.deque(maxlen=REMEMBERED_MESSAGE_IDS))
        self.message_ids.move_to_end(session)
        while len(self.message_ids) > REMEMBERED_SESSIONS:
            self.message_ids.popitem(last=False)
        if message_id in seen:
            return False
        seen.append(message_id)
        return True

    async def _turn(self, session: Text, text: Text, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                    limited: bool = False) -> None:
        """One message as a turn; past a rate limit, through the safety net (safety_net.py), with
        the kind note when it was only kept."""
        output = WebChatOutput(self.sockets)
        message = user_message(text, output, session, CHANNEL)
        try:
            if limited:
                if not await over_the_limit(message, on_new_message, self.words.agent):
                    await output.send_note(session, await self._limited_words())
                return
            await on_new_message(message)
            if is_too_long(text):
                conversation = await self.words.conversation(session)
                await output.send_note(session, await self.words.response(UTTER_MESSAGE_TOO_LONG, conversation))
        except Exception:
            logger.exception("a web chat turn failed")
            conversation = await self.words.conversation(session)
            await output.send_note(session, await self.words.response(UTTER_CHANNEL_ERROR, conversation))

    async def _end(self, session: Text, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Quick exit: the conversation is reset, as an SMS "EXIT" resets it, and its session can
        never be resumed (the widget forgets its id and secret; the server forgets the secret)."""
        self.message_ids.pop(session, None)
        self.touched.pop(session, None)
        try:
            await asyncio.to_thread(webchat_sessions.forget, session, self.session_engine)
        except Exception as error:
            logger.error("a web chat session could not be forgotten at exit (%s)", type(error).__name__)
        try:
            await on_new_message(exit_message(CollectingOutputChannel(), session, CHANNEL))
        except Exception:
            logger.exception("a web chat exit failed")

    async def _erase(self, session: Text, ws: Any) -> bool:
        """Erase chat: the conversation and every record of it go from every store, after any turn
        of it still running (under its lock, which turns and advocates' replies take too: a turn
        saved after the erase would write the old events back). True once erased."""
        self.erased[session] = None  # from now on a hello with this id starts a new conversation
        while len(self.erased) > REMEMBERED_SESSIONS:
            self.erased.popitem(last=False)
        self.message_ids.pop(session, None)
        self.touched.pop(session, None)
        try:
            async with self.words.agent.lock_store.lock(session, wait_time_in_seconds=0.1):
                await asyncio.to_thread(self.erase_conversation, session)  # its webchat_session row too
        except Exception as error:  # by type only: a database error can quote what was said
            self.erased.pop(session, None)
            logger.error("a web chat erase failed (%s)", type(error).__name__)
            with contextlib.suppress(Exception):
                await ws.send(json.dumps({"type": "bot", **bot_message(await self.words.response(UTTER_CHANNEL_ERROR)),
                                          "note": True}))
            return False
        logger.info("a web chat conversation was erased at the person's request")
        for socket in self.sockets.take(session) | {ws}:  # every tab of it
            with contextlib.suppress(Exception):
                await socket.send(json.dumps({"type": "erased"}))
                await socket.close()
        return True

    def _run_in_background(self, work: Awaitable[None]) -> asyncio.Task:
        task = asyncio.ensure_future(work)
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return task


def _frame(raw: Any) -> Dict[Text, Any]:
    try:
        frame = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return frame if isinstance(frame, dict) else {}
