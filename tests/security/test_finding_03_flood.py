"""Finding 3 (issue 14): anyone could flood the emergency queue and the advocates' phones. Every new
sender id opened a handoff and every emergency handoff texted every on-call number; the only
limit was per address, none at all for a loopback peer, and IPv6 addresses rotate freely.

The attack, on the whole navigator (REST channel, action server, console, alerts through a
Twilio stand-in), scaled down with low budgets set by the environment: 60 forged emergencies,
each from its own sender id and its own address (IPv4 and rotating IPv6), then more from a
loopback peer that names no client.

What must happen: every forged message is still answered with 911 and the 24/7 lines; each
on-call number gets the few alerts of the budget that name a handoff and then only summaries,
at least FLOOD_SUMMARY_MINUTES apart, that say how many handoffs wait, so every stored handoff was
told of exactly once; no more handoffs are opened than the budget allows; a loopback peer is
held by the same global budget; and addresses of one IPv6 /64 share one rate-limit bucket.
"""
from __future__ import annotations

import concurrent.futures
import sqlite3

import pytest

from navigator.setup import model_path
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER
from tests.helpers import Stack, forged_address, http, wait_until

pytestmark = pytest.mark.e2e

ON_CALL = ("+15550003001", "+15550003002", "+15550003003")
FORGED = 60
HANDOFF_BUDGET = 10
ALERT_BUDGET = 3
SUMMARY_EVERY_S = 15
EMERGENCY = "he is hurting me and says he will kill me tonight"
NOT_REACHED = "I could not reach an advocate just now. I will keep trying."
PER_HANDOFF = "URGENT handoff #"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, twilio):
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    stack = Stack(tmp_path_factory.mktemp("flood"), env={
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_NUMBER": NAVIGATOR_NUMBER,
        "TWILIO_API_URL": twilio.url, "ADVOCATE_ALERT_NUMBERS": ",".join(ON_CALL),
        "CONSOLE_PUBLIC_URL": "https://console.example.org",
        "SANIC_PROXIES_COUNT": "1",  # behind a proxy that names the client
        "FLOOD_HANDOFFS_PER_WINDOW": str(HANDOFF_BUDGET), "FLOOD_ALERTS_PER_WINDOW": str(ALERT_BUDGET),
        "FLOOD_SUMMARY_MINUTES": str(SUMMARY_EVERY_S / 60), "FLOOD_SUMMARY_GATHER_SECONDS": "3",
        "RATE_LIMIT_ADDRESS_BURST": "5", "RATE_LIMIT_ADDRESS_PER_MINUTE": "1",
    })
    stack.start()
    yield stack
    stack.stop()


def say(stack: Stack, sender: str, text: str, address: str = ""):
    headers = {"X-Forwarded-For": address} if address else {}
    status, replies = http("POST", stack.rasa + "/webhooks/rest/webhook", {"sender": sender, "message": text},
                           headers=headers, timeout=60)
    if not isinstance(replies, list):
        return status, str(replies)
    return status, " ".join(r.get("text") or "" for r in replies)


def database(stack: Stack, query: str):
    with sqlite3.connect(stack.work / "navigator.db") as connection:
        return connection.execute(query).fetchall()


def waiting_for_a_summary(stack: Stack) -> int:
    return database(stack, "SELECT count(*) FROM alert WHERE kind = 'batched' AND summary_id IS NULL")[0][0]


def test_a_flood_of_forged_emergencies_costs_each_phone_a_few_texts_and_everyone_still_gets_911(stack, twilio):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: say(stack, f"flood-{n}", EMERGENCY, forged_address(n)), range(FORGED)))
    assert all(status == 200 for status, _ in answers)
    assert all("911" in text and "1-800-799-7233" in text for _, text in answers)  # every one: 911, the lines
    assert sum(NOT_REACHED in text for _, text in answers) == FORGED - HANDOFF_BUDGET  # told the truth

    assert wait_until(lambda: database(stack, "SELECT count(*) FROM alert")[0][0] == HANDOFF_BUDGET
                      and waiting_for_a_summary(stack) == 0, 120), "the summary did not go out"
    assert database(stack, "SELECT count(*) FROM handoff")[0][0] == HANDOFF_BUDGET
    (counted,) = database(stack, "SELECT sum(handoffs) FROM alert_summary")[0]
    for number in ON_CALL:
        texts = twilio.to(number)
        singles = [t for t in texts if PER_HANDOFF in t.body]
        summaries = [t for t in texts if "new handoff" in t.body]
        assert len(singles) == ALERT_BUDGET and len(singles) + len(summaries) == len(texts)
        assert 1 <= len(summaries) <= 3  # not one text per forged message
        told = sum(int(t.body.split(" new handoff")[0].rsplit(" ", 1)[-1]) for t in summaries)
        assert told == counted == HANDOFF_BUDGET - ALERT_BUDGET  # every stored handoff told of once
        gaps = [later.at - earlier.at for earlier, later in zip(summaries, summaries[1:])]
        assert all(gap >= SUMMARY_EVERY_S - 1 for gap in gaps)
        assert all("flood-" not in t.body and "kill" not in t.body for t in texts)  # no words, no ids


def test_a_loopback_peer_is_held_by_the_same_global_budget(stack):
    """No forwarded address: the local proxy itself, never unlimited (after the flood above the
    budget is full at once; alone, this test fills it)."""
    for n in range(HANDOFF_BUDGET + 1):
        status, text = say(stack, f"local-{n}", EMERGENCY)
        assert status == 200 and "911" in text
        if NOT_REACHED in text:
            break
    assert NOT_REACHED in text
    assert database(stack, "SELECT count(*) FROM handoff")[0][0] <= HANDOFF_BUDGET


def test_addresses_of_one_ipv6_64_share_a_bucket(stack):
    statuses = [say(stack, f"v6-{n}", "hi", f"2001:db8:99:1::{n + 1:x}")[0] for n in range(6)]
    assert statuses == [200] * 5 + [429]
    assert say(stack, "v6-next", "hi", "2001:db8:99:2::1")[0] == 200  # the next /64 is someone else
