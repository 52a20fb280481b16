"""Rate limits, message size limits and the security of the survivor-facing server, as a person
(or a flood) meets them: the token buckets themselves; the REST channel and the web chat served
in-process with low limits (a stand-in for the bot that echoes, the real domain's words); and,
on the running navigator, the real wiring: 429 after a burst, a long message whose emergency is
still answered, the size caps and the headers of every page."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import threading
import urllib.error
import urllib.request
import uuid
from functools import lru_cache
from types import SimpleNamespace
from typing import Dict, List, Optional, Tuple

import pytest
import websockets
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from sanic import Sanic

from bot.channels.incoming import MAX_TEXT_CHARS
from bot.channels.rest import SafeRestInput
from bot.channels.webchat.page import demo_policy
from bot.channels.webchat.socket import WebChatInput, allowed_origins, origin_allowed
from infra.config import ROOT
from infra.rate_limits import Limiter, Rate, TokenBuckets, client_address, survivor_limits
from tests.helpers import free_port

_apps = itertools.count(1)
DANGER = "He is hurting me and he says he will kill me tonight. "
# What the kind refusal must name: 911, and the 24/7 lines (the DV Hotline).
MUST_NAME = ("911", "1-800-799-7233")


def request(method: str, url: str, body=None, headers: Optional[dict] = None,
            raw: Optional[bytes] = None) -> Tuple[int, Dict[str, str], object]:
    """(status, headers, JSON or text) of one request; HTTP errors are answers too."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            status, head, content = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, head, content = error.code, error.headers, error.read()
    try:
        parsed = json.loads(content or b"null")
    except ValueError:
        parsed = content.decode(errors="replace")
    return status, {k.lower(): v for k, v in head.items()}, parsed


def texts(replies) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


# --- the token buckets -----------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_burst_is_let_through_then_refused_until_the_bucket_refills():
    clock = Clock()
    limiter = Limiter(clock=clock, sender=Rate(per_minute=20, burst=10))
    assert all(limiter.check(sender="a").allowed for _ in range(10))
    refused = limiter.check(sender="a")
    assert not refused.allowed and refused.retry_after == 3  # one message every 3 s at 20 a minute
    assert limiter.check(sender="b").allowed  # another sender has a bucket of its own
    clock.now += 3
    assert limiter.check(sender="a").allowed and not limiter.check(sender="a").allowed


def test_only_the_first_refusal_of_a_streak_asks_to_tell_the_person():
    clock = Clock()
    limiter = Limiter(clock=clock, sender=Rate(per_minute=60, burst=1))
    assert limiter.check(sender="a").allowed
    assert [limiter.check(sender="a").first_refusal for _ in range(3)] == [True, False, False]
    clock.now += 1
    assert limiter.check(sender="a").allowed
    assert limiter.check(sender="a").first_refusal  # the bucket was full again: a new streak is told again


def test_a_message_let_through_in_the_middle_of_a_burst_does_not_start_a_new_streak():
    clock = Clock()
    limiter = Limiter(clock=clock, sender=Rate(per_minute=60, burst=3))
    assert all(limiter.check(sender="a").allowed for _ in range(3))
    assert limiter.check(sender="a").first_refusal  # told once
    clock.now += 1  # one token back: one message slips through, the burst goes on
    assert limiter.check(sender="a").allowed
    refusals = [limiter.check(sender="a") for _ in range(3)]
    assert not any(r.allowed for r in refusals) and not any(r.first_refusal for r in refusals)
    clock.now += 3  # quiet until the bucket is full: the streak is over
    assert all(limiter.check(sender="a").allowed for _ in range(3))
    assert limiter.check(sender="a").first_refusal


def test_a_refused_message_uses_up_nothing_of_the_other_limits():
    limiter = Limiter(clock=Clock(), sender=Rate(60, 1), address=Rate(60, 3))
    assert limiter.check(sender="a", address="198.51.100.1").allowed
    for _ in range(20):  # one sender hammering does not drain its address for the others
        assert not limiter.check(sender="a", address="198.51.100.1").allowed
    assert limiter.check(sender="b", address="198.51.100.1").allowed
    assert limiter.check(sender="c", address="198.51.100.1").allowed
    assert not limiter.check(sender="d", address="198.51.100.1").allowed  # the address's 3
    assert limiter.check(sender="e").allowed  # a limit not named does not apply


def test_requests_without_a_client_address_share_one_bucket_of_many_addresses_worth():
    """The local proxy speaking for everyone (no proxy setting): not one address, not unlimited."""
    limiter = Limiter(clock=Clock(), share=20, sender=Rate(60, 100), address=Rate(60, 3))
    allowed = [limiter.check(sender=f"s{n}", address=None).allowed for n in range(61)]
    assert allowed == [True] * 60 + [False]  # 20 addresses' worth of burst, then refused
    assert limiter.check(sender="x", address="198.51.100.1").allowed  # a named address has its own


def test_a_shelter_where_thirty_people_chat_behind_one_address_is_never_slowed_at_the_defaults(monkeypatch):
    for name in ("SENDER", "ADDRESS"):
        monkeypatch.delenv(f"RATE_LIMIT_{name}_PER_MINUTE", raising=False)
        monkeypatch.delenv(f"RATE_LIMIT_{name}_BURST", raising=False)
    clock = Clock()
    limiter = survivor_limits()
    for bucket in limiter.limits.values():
        bucket.clock = clock
    for person in range(30):  # each starts with six quick messages (a burst, as people type)
        assert all(limiter.check(sender=f"p{person}", address="203.0.113.50").allowed for _ in range(2))
        clock.now += 1
    for second in range(600):  # then ten minutes of everyone writing every 20 s (90 a minute)
        clock.now += 1
        for person in range(30):
            if (second + person) % 20 == 0:
                assert limiter.check(sender=f"p{person}", address="203.0.113.50").allowed, (second, person)


def test_memory_is_bounded_and_a_forgotten_key_starts_afresh():
    buckets = TokenBuckets(Rate(60, 1), max_keys=100, clock=Clock())
    limiter = Limiter(clock=Clock(), keys=100, sender=Rate(60, 1))
    limiter.limits["sender"] = buckets
    assert limiter.check(sender="first").allowed and not limiter.check(sender="first").allowed
    for n in range(1000):
        limiter.check(sender=f"flood-{n}-" + "x" * 500)
    assert len(buckets.buckets) == 100 and all(len(key) == 16 for key in buckets.buckets)
    assert limiter.check(sender="first").allowed  # forgotten: it fails open, never refuses the uncounted


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_SENDER_PER_MINUTE", "0")  # 0: no limit
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_BURST", "2")
    limiter = survivor_limits()
    assert all(limiter.check(sender="a").allowed for _ in range(500))
    assert [limiter.check(address="198.51.100.9").allowed for _ in range(3)] == [True, True, False]
    monkeypatch.setenv("RATE_LIMIT_SENDER_BURST", "ten")
    with pytest.raises(SystemExit, match="RATE_LIMIT_SENDER_BURST"):
        survivor_limits()


@pytest.mark.parametrize("forwarded, peer, counted", [
    ("", "127.0.0.1", None),  # the local TLS proxy, speaking for everyone: never limited as one
    ("", "::1", None),
    ("203.0.113.7", "127.0.0.1", "203.0.113.7"),  # the proxy said who it is (SANIC_PROXIES_COUNT)
    ("", "198.51.100.4", "198.51.100.4"),
    ("2001:db8:aa:bb:1:2:3:4", "127.0.0.1", "2001:db8:aa:bb::/64"),  # IPv6 counts as its /64
    ("", "2001:db8:aa:bb:ffff::9", "2001:db8:aa:bb::/64"),
    ("", "2001:db8:aa:bc::9", "2001:db8:aa:bc::/64"),  # the next /64 is another bucket
    ("::ffff:198.51.100.4", "127.0.0.1", "198.51.100.4"),  # IPv4-mapped: the IPv4 address
])
def test_the_address_counted_is_the_survivors_not_the_local_proxys(forwarded, peer, counted):
    assert client_address(SimpleNamespace(remote_addr=forwarded, ip=peer)) == counted


# --- the channels in-process, with low limits -----------------------------------------------

@lru_cache(maxsize=1)
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def words_of(name: str) -> str:
    return domain().responses[name][0]["text"]


class Echo:
    """Stands in for the bot: answers each message with what it read."""

    def __init__(self):
        self.read: List[str] = []

    async def __call__(self, message: UserMessage) -> None:
        self.read.append(message.text)
        await message.output_channel.send_response(message.sender_id, {"text": f"read {len(message.text)}"})


async def stand_in_nlu(text: str) -> dict:
    """The stand-in agent's NLU: DANGER is an emergency, anything else a request."""
    intent = "emergency" if DANGER.strip() in text else "need_shelter"
    return {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}


class Served:
    """A Sanic app with our channels, a stand-in agent (the domain's words, in-memory stores, an
    NLU that knows one emergency), served on a free port from a thread."""

    def __init__(self, proxies: int = 0):
        self.echo = Echo()
        Sanic.test_mode = True  # several apps in one process (each test has its own)
        self.app = Sanic(f"limits_test_{next(_apps)}")
        self.app.config.PROXIES_COUNT = proxies
        self.app.ctx.agent = SimpleNamespace(nlg=TemplatedNaturalLanguageGenerator(domain().responses),
                                             tracker_store=InMemoryTrackerStore(domain()),
                                             lock_store=InMemoryLockStore(), parse_message=stand_in_nlu)
        self.webchat = WebChatInput()
        self.app.blueprint(SafeRestInput().blueprint(self.echo), url_prefix="/webhooks/rest")
        self.app.blueprint(self.webchat.blueprint(self.echo), url_prefix="/webchat")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.server = None
        started = threading.Event()

        async def start():
            self.server = await self.app.create_server(host="127.0.0.1", port=self.port, access_log=False,
                                                       return_asyncio_server=True)
            await self.server.startup()
            await self.server.before_start()
            await self.server.after_start()
            started.set()
            await self.server.serve_forever()

        def run():
            asyncio.set_event_loop(self.loop)
            with contextlib.suppress(asyncio.CancelledError):
                self.loop.run_until_complete(start())

        threading.Thread(target=run, daemon=True).start()
        assert started.wait(20), "the test server did not start"

    def stop(self):
        async def stop():
            await self.server.before_stop()
            self.server.close()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(20)

    def say(self, sender: str, message: str, address: Optional[str] = None):
        headers = {"X-Forwarded-For": address} if address else {}
        return request("POST", self.base + "/webhooks/rest/webhook", {"sender": sender, "message": message}, headers)

    def chat(self, frames: List[dict], origin: Optional[str] = None, address: Optional[str] = None,
             until=None) -> Tuple[List[dict], Optional[int]]:
        return asyncio.run(chat(f"ws://127.0.0.1:{self.port}/webchat/socket", frames, origin or self.base, address, until))  # as the demo page


def bots(frames: List[dict]) -> List[dict]:
    return [f for f in frames if f["type"] == "bot"]


def bot_frames(count: int):
    return lambda got: len(bots(got)) >= count


def a_note(got: List[dict]) -> bool:
    return any(f.get("note") for f in got)


async def chat(url: str, frames: List[dict], origin: Optional[str] = None, address: Optional[str] = None,
               until=None, timeout: float = 60) -> Tuple[List[dict], Optional[int]]:
    """Open the web chat (as a page of `origin`), send the hello and `frames`, and collect what
    comes until `until(frames so far)` (default: the first frame) or the server closes; answers
    (frames, the close code if the server closed)."""
    until = until or (lambda got: bool(got))
    headers = {"X-Forwarded-For": address} if address else {}
    got: List[dict] = []
    async with websockets.connect(url, origin=origin, extra_headers=headers, max_size=None) as ws:
        with contextlib.suppress(websockets.ConnectionClosed):  # what came before a close is read below
            await ws.send(json.dumps({"type": "hello", "session": None, "seen": 0, "full": False}))
            for frame in frames:
                await ws.send(json.dumps(frame))
        try:
            while not until(got):
                got.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
        except websockets.ConnectionClosed:
            return got, ws.close_code
    return got, None


def closed(_got: List[dict]) -> bool:
    return False  # read until the server closes


@pytest.fixture
def served(monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_SENDER_PER_MINUTE", "6")
    monkeypatch.setenv("RATE_LIMIT_SENDER_BURST", "3")
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_BURST", "5")
    monkeypatch.setenv("RATE_LIMIT_WEBCHAT_CONNECTIONS_BURST", "2")
    monkeypatch.setenv("WEBCHAT_ALLOWED_ORIGINS", "https://agency.example.org, https://help.example.net/")
    server = Served(proxies=1)
    yield server
    server.stop()


def test_rest_a_sender_past_the_burst_gets_429_retry_after_and_the_kind_words(served):
    for _ in range(3):
        assert served.say("rest-a", "I need a shelter")[0] == 200
    status, headers, body = served.say("rest-a", "I need a shelter")
    assert status == 429 and 1 <= int(headers["retry-after"]) <= 10
    assert body == [{"recipient_id": "rest-a", "text": words_of("utter_rate_limited")}]
    assert all(name in body[0]["text"] for name in MUST_NAME)
    assert len(served.echo.read) == 3  # the message past the limit got no turn...
    kept = asyncio.run(served.app.ctx.agent.tracker_store.retrieve("rest-a"))
    assert [e.text for e in kept.events if e.type_name == "user"] == ["I need a shelter"]  # ...but is kept
    assert served.say("rest-b", "I need a shelter")[0] == 200  # another sender is not slowed


def test_rest_an_emergency_past_the_limit_is_answered_all_the_same(served):
    """People in crisis send bursts: the last of them may be the one that matters."""
    for _ in range(3):
        assert served.say("rest-burst", "help")[0] == 200
    assert served.say("rest-burst", "help")[0] == 429
    status, _, replies = served.say("rest-burst", DANGER)
    assert status == 200 and served.echo.read[-1] == DANGER.strip()  # the turn ran: 911 and a handoff
    assert replies == [{"recipient_id": "rest-burst", "text": f"read {len(DANGER.strip())}"}]


def test_rest_a_conversation_an_advocate_holds_is_never_limited(served):
    from rasa.shared.core.events import ConversationPaused
    from rasa.shared.core.trackers import DialogueStateTracker

    store = served.app.ctx.agent.tracker_store
    asyncio.run(store.save(DialogueStateTracker.from_events("rest-held", [ConversationPaused()])))
    assert [served.say("rest-held", f"piece {n}")[0] for n in range(6)] == [200] * 6
    assert served.echo.read[-3:] == ["piece 3", "piece 4", "piece 5"]  # every one reached the advocate


def test_rest_one_address_is_limited_whatever_senders_it_claims_and_others_are_not(served):
    statuses = [served.say(f"rest-{n}", "hi", address="203.0.113.7")[0] for n in range(6)]
    assert statuses == [200] * 5 + [429]
    assert served.say("rest-x", "hi", address="203.0.113.8")[0] == 200
    # Without the proxy's word the peer is the local proxy itself: never limited as one address
    # (its shared bucket is RATE_LIMIT_LOOPBACK_SHARE addresses' worth).
    assert all(served.say(f"rest-local-{n}", "hi")[0] == 200 for n in range(8))


def test_rest_addresses_of_one_ipv6_64_share_a_bucket(served):
    statuses = [served.say(f"rest-v6-{n}", "hi", address=f"2001:db8:77:1::{n + 1:x}")[0] for n in range(6)]
    assert statuses == [200] * 5 + [429]  # a rotating address within a /64 is one address
    assert served.say("rest-v6-other", "hi", address="2001:db8:77:2::1")[0] == 200


def test_rest_a_long_message_is_read_up_to_the_limit_and_the_person_is_told(served):
    status, _, replies = served.say("rest-long", DANGER + "and more words " * 200)
    assert status == 200 and served.echo.read[-1].startswith(DANGER.strip())
    assert MAX_TEXT_CHARS - 100 < len(served.echo.read[-1]) <= MAX_TEXT_CHARS
    assert replies[-1]["text"] == words_of("utter_message_too_long")
    status, _, replies = served.say("rest-short", "x" * MAX_TEXT_CHARS)  # exactly the limit: nothing to say
    assert status == 200 and texts(replies) == f"read {MAX_TEXT_CHARS}"


def test_webchat_messages_past_the_burst_get_the_kind_words_and_are_not_run(served):
    frames = [{"type": "message", "id": f"m{n}", "text": "hello"} for n in range(4)]
    replies = bots(served.chat(frames, until=bot_frames(4))[0])
    assert [b["text"] for b in replies[:3]] == ["read 5"] * 3
    assert replies[3]["text"] == words_of("utter_rate_limited") and replies[3]["note"] is True
    assert all(name in replies[3]["text"] for name in MUST_NAME)
    assert len(served.echo.read) == 3


def test_webchat_an_emergency_past_the_burst_is_answered(served):
    frames = [{"type": "message", "id": f"m{n}", "text": "hello"} for n in range(4)]
    frames.append({"type": "message", "id": "danger", "text": DANGER})
    replies = bots(served.chat(frames, until=bot_frames(5))[0])
    assert replies[3]["note"] is True and replies[4] == {"type": "bot", "text": f"read {len(DANGER.strip())}",
                                                         "buttons": []}
    assert served.echo.read[-1] == DANGER.strip()


def test_webchat_a_long_message_is_read_up_to_the_limit_and_the_person_is_told(served):
    got, _ = served.chat([{"type": "message", "id": "long", "text": DANGER + "more " * 1000}], until=a_note)
    assert len(served.echo.read[-1]) <= MAX_TEXT_CHARS and served.echo.read[-1].startswith(DANGER.strip())
    assert bots(got)[-1] == {"type": "bot", "text": words_of("utter_message_too_long"), "buttons": [], "note": True}


def test_webchat_connections_from_one_address_are_limited_kindly(served):
    for _ in range(2):
        got, _ = served.chat([], address="203.0.113.9")
        assert got[0]["type"] == "session"
    got, code = served.chat([], address="203.0.113.9", until=closed)
    assert code == 1013 and got == [{"type": "bot", "text": words_of("utter_rate_limited"), "buttons": [],
                                     "note": True}]
    assert served.chat([], address="203.0.113.10")[0][0]["type"] == "session"


def test_webchat_only_the_listed_sites_and_the_navigator_itself_may_open_the_chat(served):
    for origin in ("https://agency.example.org", "https://help.example.net", served.base):  # no Origin: tests/security
        assert served.chat([], origin=origin)[0][0]["type"] == "session", origin
    with pytest.raises(websockets.InvalidStatusCode) as refused:
        served.chat([], origin="https://elsewhere.example.com")
    assert refused.value.status_code == 403
    status, headers, _ = request("GET", served.base + "/webchat/demo")
    assert "frame-ancestors 'self' https://agency.example.org https://help.example.net;" in \
        headers["content-security-policy"] + ";"


def test_allowed_origins_are_read_strictly(monkeypatch):
    monkeypatch.delenv("WEBCHAT_ALLOWED_ORIGINS", raising=False)
    assert allowed_origins() == [] and "frame-ancestors 'self'" in demo_policy([])
    assert origin_allowed("https://anyone.example", "nav.example.org", [])  # unset: the widget goes anywhere
    monkeypatch.setenv("WEBCHAT_ALLOWED_ORIGINS", "'self' https://A.example.org/  http://b.example:8080")
    assert allowed_origins() == ["https://a.example.org", "http://b.example:8080"]
    monkeypatch.setenv("WEBCHAT_ALLOWED_ORIGINS", "agency.example.org/chat")
    with pytest.raises(SystemExit, match="WEBCHAT_ALLOWED_ORIGINS"):
        allowed_origins()


# --- the running navigator -------------------------------------------------------------------

@pytest.mark.e2e
def test_the_navigator_answers_a_burst_with_429_and_another_sender_normally(channel_stack):
    sender, url = f"burst-{uuid.uuid4().hex[:8]}", channel_stack.rasa + "/webhooks/rest/webhook"
    with concurrent.futures.ThreadPoolExecutor(14) as pool:
        answers = list(pool.map(lambda _: request("POST", url, {"sender": sender, "message": "hello"}), range(14)))
    refused = [a for a in answers if a[0] == 429]
    assert len(refused) >= 3 and all(a[0] in (200, 429) for a in answers)
    status, headers, body = refused[0]
    assert int(headers["retry-after"]) >= 1 and all(name in texts(body) for name in MUST_NAME)
    assert channel_stack.say(f"other-{uuid.uuid4().hex[:8]}", "I need legal help in Omaha, NE")


@pytest.mark.e2e
def test_an_emergency_at_the_start_of_a_long_message_is_still_answered(channel_stack):
    status, _, replies = request("POST", channel_stack.rasa + "/webhooks/rest/webhook",
                                 {"sender": f"long-{uuid.uuid4().hex[:8]}", "message": DANGER + "and then " * 400})
    assert status == 200 and "911" in texts(replies[:-1])
    assert replies[-1]["text"] == words_of("utter_message_too_long")
    url = channel_stack.rasa.replace("http", "ws", 1) + "/webchat/socket"
    got, _ = asyncio.run(chat(url, [{"type": "message", "id": "1", "text": DANGER + "and then " * 400}], until=a_note))
    assert "911" in bots(got)[0]["text"] and bots(got)[-1]["text"] == words_of("utter_message_too_long")


@pytest.mark.e2e
def test_huge_bodies_and_frames_are_refused_before_they_are_read(channel_stack):
    status, _, _ = request("POST", channel_stack.rasa + "/webhooks/rest/webhook",
                           raw=json.dumps({"sender": "huge", "message": "x" * 200_000}).encode())
    assert status == 413
    url = channel_stack.rasa.replace("http", "ws", 1) + "/webchat/socket"
    got, code = asyncio.run(chat(url, [{"type": "message", "id": "1", "text": "x" * 40_000}], until=closed))
    assert code == 1009 and not bots(got)  # closed: too big, nothing run


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["/", "/version", "/webhooks/rest/", "/webchat/demo", "/webchat/widget.js",
                                  "/webchat/widget.css", "/webchat/demo.css", "/no-such-page"])
def test_every_page_of_the_rasa_server_carries_the_security_headers(channel_stack, path):
    _, headers, _ = request("GET", channel_stack.rasa + path)
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    csp = headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors" in csp
    if path == "/webchat/demo":
        assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
    else:
        assert "default-src 'none'" in csp


@pytest.mark.e2e
def test_a_conversation_reply_is_never_cached(channel_stack):
    _, headers, _ = request("POST", channel_stack.rasa + "/webhooks/rest/webhook",
                            {"sender": f"cache-{uuid.uuid4().hex[:8]}", "message": "hi"})
    assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"
