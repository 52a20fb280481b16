"""Finding 3 (issue 14), the budgets themselves, in-process: anyone could flood the emergency queue
and the advocates' phones, because every new sender id opened a handoff and every emergency
handoff texted every on-call number.

The attack here: many forged emergencies, each from a new conversation, asked of
conversations.handoff_requests as the action server and the Rasa server's fallback ask it.
What must happen: past FLOOD_ALERTS_PER_WINDOW no alert names its handoff, and ONE summary per
on-call number says how many wait (claimed once, whatever number of processes try); past
FLOOD_HANDOFFS_PER_WINDOW a conversation that has just begun is answered "could not reach an
advocate yet" and its handoff is stored once the budget has room; a conversation that has been
talking, one that re-escalates its own handoff and one an advocate holds are never budgeted.
The whole stack under a flood: test_finding_03_flood.py."""
from __future__ import annotations

import asyncio
import collections
import datetime as dt

import pytest
from sqlalchemy import func, select

from conversations import alerts, handoff_requests
from conversations.alerts import Alert, AlertSummary
from conversations.handoffs import Handoff, claim_handoff, close_handoff, list_handoffs, open_handoff, utcnow
from infra import db
from navigator import schema
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, TwilioStandIn

ON_CALL = ("+15550002001", "+15550002002", "+15550002003")


@pytest.fixture
def queue(tmp_path, monkeypatch):
    """A fresh DATABASE_URL and a Twilio stand-in that the on-call numbers' alerts go to."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/navigator.db")
    monkeypatch.setattr(handoff_requests, "_waiting_for_room", collections.OrderedDict())  # this test's own
    schema.create_schema()
    standin = TwilioStandIn().start()
    for name, value in {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                        "TWILIO_NUMBER": NAVIGATOR_NUMBER, "TWILIO_API_URL": standin.url,
                        "ADVOCATE_ALERT_NUMBERS": ",".join(ON_CALL),
                        "CONSOLE_PUBLIC_URL": "https://console.example.org",
                        "FLOOD_SUMMARY_GATHER_SECONDS": "3600"}.items():  # summaries sent by the test
        monkeypatch.setenv(name, value)
    yield standin
    standin.stop()


def forged(count: int, start: int = 0):
    """Ask for an advocate for `count` new conversations, as a flood of first messages does."""
    async def flood():
        asked = [await handoff_requests.ask_for_advocate(f"forged-{n}", "rest", "emergency", "danger")
                 for n in range(start, start + count)]
        await handoff_requests.settled()
        return asked
    return asyncio.run(flood())


def user_said(seconds_ago: float) -> dict:
    at = dt.datetime.now(dt.timezone.utc).timestamp() - seconds_ago
    return {"event": "user", "timestamp": at, "text": "hi", "parse_data": {}}


def texts(standin, number):
    return [sms.body for sms in standin.to(number)]


def test_past_the_alert_budget_one_summary_per_number_says_how_many(queue, monkeypatch):
    monkeypatch.setenv("FLOOD_ALERTS_PER_WINDOW", "2")
    monkeypatch.setenv("FLOOD_HANDOFFS_PER_WINDOW", "0")  # this test is about the texts
    asked = forged(12)
    assert all(a.stored for a in asked)
    for number in ON_CALL:  # two alerts that name their handoff, and nothing for the other ten yet
        assert len(texts(queue, number)) == 2 and all("URGENT handoff #" in t for t in texts(queue, number))
    with db.session_scope() as session:  # the other ten wait for the summary, recorded, no number
        assert session.execute(select(func.count()).select_from(Alert).where(Alert.kind == "batched")).scalar() == 10

    later = utcnow() + dt.timedelta(hours=2)
    sent = asyncio.run(alerts.send_due_summary(now=later))
    assert sent == alerts.AlertResult(3, 3)
    for number in ON_CALL:
        *_, summary = texts(queue, number)
        assert summary == "Navigator: 10 new handoffs are waiting, 10 urgent. Open: https://console.example.org/"
    assert asyncio.run(alerts.send_due_summary(now=later)) is None  # nothing more to tell
    with db.session_scope() as session:
        (row,) = session.execute(select(AlertSummary)).scalars()
        assert (row.handoffs, row.urgent, row.recipients, row.delivered) == (10, 10, 3, 3)

    forged(4, start=100)  # the flood goes on: still batched, and no summary before FLOOD_SUMMARY_MINUTES
    assert all(len(texts(queue, number)) == 3 for number in ON_CALL)
    assert asyncio.run(alerts.send_due_summary(now=later + dt.timedelta(minutes=1))) is None
    assert asyncio.run(alerts.send_due_summary(now=later + dt.timedelta(minutes=6))) == alerts.AlertResult(3, 3)
    assert texts(queue, ON_CALL[0])[-1].startswith("Navigator: 4 new handoffs are waiting, 4 urgent.")


def test_a_due_summary_is_sent_once_however_many_processes_try(queue, monkeypatch):
    monkeypatch.setenv("FLOOD_ALERTS_PER_WINDOW", "1")
    monkeypatch.setenv("FLOOD_HANDOFFS_PER_WINDOW", "0")
    forged(6)
    later = utcnow() + dt.timedelta(hours=2)

    async def everyone_at_once():
        return await asyncio.gather(*(alerts.send_due_summary(now=later) for _ in range(5)))

    results = asyncio.run(everyone_at_once())
    assert sum(r is not None for r in results) == 1
    assert [len(texts(queue, number)) for number in ON_CALL] == [2, 2, 2]  # one alert, one summary


def test_the_summary_goes_out_with_no_further_handoff(queue, monkeypatch):
    """Nothing arrives after the flood: the process that batched the alerts sends the summary."""
    monkeypatch.setenv("FLOOD_ALERTS_PER_WINDOW", "1")
    monkeypatch.setenv("FLOOD_HANDOFFS_PER_WINDOW", "0")
    monkeypatch.setenv("FLOOD_SUMMARY_GATHER_SECONDS", "1")

    async def flood_then_nothing():
        for n in range(4):
            await handoff_requests.ask_for_advocate(f"quiet-{n}", "rest", "emergency", "danger")
        await handoff_requests.settled()
        await alerts.summaries_sent()  # the timer ends once nothing waits for a summary

    asyncio.run(flood_then_nothing())
    for number in ON_CALL:
        assert texts(queue, number)[-1].startswith("Navigator: 3 new handoffs are waiting, 3 urgent.")
        assert len(texts(queue, number)) == 2


def test_a_summary_counts_only_handoffs_still_waiting(queue, monkeypatch):
    monkeypatch.setenv("FLOOD_ALERTS_PER_WINDOW", "1")
    monkeypatch.setenv("FLOOD_HANDOFFS_PER_WINDOW", "0")
    forged(4)
    with db.session_scope() as session:
        taken = [h.id for h in list_handoffs(session, "open")][1:3]
        claim_handoff(session, taken[0], "rosa")
        close_handoff(session, taken[1], "rosa", "other")
    asyncio.run(alerts.send_due_summary(now=utcnow() + dt.timedelta(hours=2)))
    assert texts(queue, ON_CALL[0])[-1].startswith("Navigator: 1 new handoff is waiting, urgent.")


def test_over_the_handoff_budget_a_new_conversation_hears_the_truth_and_is_stored_when_there_is_room(
        queue, monkeypatch):
    monkeypatch.setenv("FLOOD_HANDOFFS_PER_WINDOW", "3")
    monkeypatch.setattr(handoff_requests, "ROOM_RECHECK_S", 0.2)

    async def flood_then_time_passes():
        asked = [await handoff_requests.ask_for_advocate(f"new-{n}", "rest", "emergency", "danger")
                 for n in range(5)]
        stored_at_once = count_handoffs()
        waiting = handoff_requests.waiting_for_room()
        with db.session_scope() as session:  # the window moves on: the first three leave it
            for handoff in session.execute(select(Handoff)).scalars():
                handoff.created_at -= dt.timedelta(minutes=11)
        for _ in range(100):
            if not handoff_requests.waiting_for_room():
                break
            await asyncio.sleep(0.1)
        await handoff_requests.settled()
        return asked, stored_at_once, waiting

    asked, stored_at_once, waiting = asyncio.run(flood_then_time_passes())
    assert [a.stored for a in asked] == [True, True, True, False, False]  # "could not reach... keep trying"
    assert (stored_at_once, waiting) == (3, 2)
    assert handoff_requests.waiting_for_room() == 0 and count_handoffs() == 5  # kept trying, and did


def count_handoffs() -> int:
    with db.session_scope() as session:
        return session.execute(select(func.count()).select_from(Handoff)).scalar()


def test_conversations_that_are_not_new_are_never_budgeted(queue, monkeypatch):
    monkeypatch.setenv("FLOOD_HANDOFFS_PER_WINDOW", "1")
    with db.session_scope() as session:
        open_handoff(session, "asked-before", "rest", "request", "request")  # fills the budget
        held = open_handoff(session, "held", "rest", "emergency", "danger")
        claim_handoff(session, held.id, "rosa")
        done = open_handoff(session, "closed-before", "rest", "request", "request")
        close_handoff(session, done.id, "rosa", "other")

    async def ask_all():
        ask = handoff_requests.ask_for_advocate
        return {
            "new": await ask("brand-new", "rest", "emergency", "danger"),
            "new, one message": await ask("one-message", "rest", "emergency", "danger", events=[user_said(1)]),
            "talking": await ask("talking", "rest", "emergency", "danger", events=[user_said(300), user_said(1)]),
            "re-escalating": await ask("asked-before", "rest", "emergency", "danger"),
            "held": await ask("held", "rest", "emergency", "danger"),
            "had a handoff": await ask("closed-before", "rest", "emergency", "danger"),
        }

    asked = asyncio.run(ask_all())
    assert {name: a.stored for name, a in asked.items()} == {
        "new": False, "new, one message": False, "talking": True, "re-escalating": True, "held": True,
        "had a handoff": True}
    assert asked["held"].claimed
    with db.session_scope() as session:
        priorities = {h.conversation_id: h.priority for h in list_handoffs(session, "open")}
    assert priorities["asked-before"] == "emergency" and priorities["talking"] == "emergency"


def test_the_budgets_come_from_the_environment(monkeypatch):
    from conversations import flood_budget

    monkeypatch.setenv("FLOOD_HANDOFFS_PER_WINDOW", "many")
    with pytest.raises(SystemExit, match="FLOOD_HANDOFFS_PER_WINDOW"):
        flood_budget.read()  # at start: the process stops, saying which
    # later: the defaults hold, never a failed emergency
    assert flood_budget.budgets().handoffs == flood_budget.DEFAULTS["FLOOD_HANDOFFS_PER_WINDOW"]
    monkeypatch.setenv("FLOOD_HANDOFFS_PER_WINDOW", "7")
    monkeypatch.setenv("FLOOD_SUMMARY_MINUTES", "2.5")
    budget = flood_budget.budgets()
    assert budget.handoffs == 7 and budget.summary_every == dt.timedelta(minutes=2.5)
