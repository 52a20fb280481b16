"""SMS alerts to the advocates on call (`ADVOCATE_ALERT_NUMBERS`) when a conversation is handed
to a person, bounded and batched under a flood (CONTRACT.md: never one text per forged message).

An alert says only that handoff N is waiting, how urgent it is, and where to open it in the
console: never the survivor's words or number (CONTRACT.md), since an advocate's phone can be
lost, shared or seen.

Batching (budgets in conversations.flood_budget): the first `FLOOD_ALERTS_PER_WINDOW` alerts of a
window (default 5 in 10 minutes) each name their handoff, as on any night. Past that, an alert
sends nothing: its handoff is left for the next summary, ONE text per on-call number at most
every `FLOOD_SUMMARY_MINUTES` (default 5), gathered for `FLOOD_SUMMARY_GATHER_SECONDS` after the
first handoff it tells of (default 60): "Navigator: 12 new handoffs are waiting, 3 urgent.
Open: <the queue>", counting those still waiting when it goes. Batching lasts until a whole
window has passed without a summary, so a long flood costs each phone one text every few
minutes, not a fresh allowance of single alerts every window.

The summary must go out even if nothing else arrives: the process that left a handoff for a
summary keeps a timer (`summary_timer`) that sleeps until the summary is due and then sends it.
Every process that batches has one; the database decides which sends (flood_budget's
`flood_gate` row, claimed with an UPDATE ... WHERE the last summary is old enough), and the
summary takes its handoffs with an UPDATE ... WHERE summary_id IS NULL, so each handoff is in one
summary and each summary is sent once. A process that dies with a summary due leaves it to the
console, whose unclaimed-handoff loop starts a timer too (console.lifecycle.watch_unclaimed).

Every alert is recorded (handoff, priority, how many it went to, whether it was texted or left for
a summary, time) and every summary (how many handoffs, how many urgent, how many numbers, when):
no phone numbers, so that `navigator purge` can delete them with the conversations.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, func, select, update

from conversations import flood_budget
from conversations.handoffs import EMERGENCY_PRIORITY, Handoff
from infra import config, retention
from infra.clock import utcnow
from infra.db import Base, session_scope
from infra.twilio_client import send_sms
from resources.taxonomy.languages import language_table

logger = logging.getLogger(__name__)

ALERT_TEXT = {
    "emergency": "Navigator: URGENT handoff #{id}{language} is waiting for an advocate. Open: {link}",
    "request": "Navigator: handoff #{id} (asked to talk to a person{language_also}) is waiting. Open: {link}",
}
SUMMARY_TEXT = {
    True: "Navigator: 1 new handoff is waiting{urgent}. Open: {link}",
    False: "Navigator: {count} new handoffs are waiting, {urgent} urgent. Open: {link}",
}
TEXTED, BATCHED = "text", "batched"  # Alert.kind
RESERVE_ATTEMPTS = 3
RESERVE_PAUSE_S = 5.0
SUMMARY_RECHECK_S = 60.0  # a waiting timer looks again this often (another process may have sent)
SUMMARY_MIN_PAUSE_S = 1.0


class Alert(Base):
    __tablename__ = "alert"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoff.id", ondelete="CASCADE"), nullable=False, index=True)
    priority = Column(String(20), nullable=False)
    recipients = Column(Integer, nullable=False)  # how many numbers it was texted to (0: left for a summary)
    delivered = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    kind = Column(String(20), nullable=True)  # TEXTED or BATCHED (NULL: an alert of an older version, texted)
    summary_id = Column(Integer, nullable=True)  # the AlertSummary that told of it (BATCHED only)


class AlertSummary(Base):
    """One summary text sent (or due and found with nothing waiting): counts only."""

    __tablename__ = "alert_summary"

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    handoffs = Column(Integer, nullable=False, default=0)  # still waiting when it went
    urgent = Column(Integer, nullable=False, default=0)
    recipients = Column(Integer, nullable=False, default=0)
    delivered = Column(Integer, nullable=False, default=0)


retention.declare(retention.RetentionRule(table=Alert.__table__, time_column=Alert.created_at,
                                          handoff_column=Alert.handoff_id))
retention.declare(retention.RetentionRule(  # counts of batched alerts only
    table=AlertSummary.__table__, time_column=AlertSummary.created_at))


@dataclass(frozen=True)
class AlertResult:
    recipients: int
    delivered: int
    batched: bool = False  # left for the next summary: nothing was texted now


def alert_numbers() -> list[str]:
    """The on-call numbers, from the comma-separated ADVOCATE_ALERT_NUMBERS."""
    return [n.strip() for n in (os.environ.get("ADVOCATE_ALERT_NUMBERS") or "").split(",") if n.strip()]


def console_base() -> str:
    """The console, as an advocate opens it: CONSOLE_PUBLIC_URL, else the local console."""
    return (os.environ.get("CONSOLE_PUBLIC_URL") or f"http://localhost:{config.port('CONSOLE_PORT')}").rstrip("/")


def console_link(handoff_id: int) -> str:
    """Where an advocate opens the handoff."""
    return f"{console_base()}/handoffs/{handoff_id}"


def alert_text(handoff_id: int, priority: str, language: Optional[str] = None) -> str:
    """The alert's words: the handoff's number, how urgent, the language the survivor writes in
    when it is not English (so the right advocate picks it up), the link; never what was said."""
    name = language_label(language)
    return ALERT_TEXT.get(priority, ALERT_TEXT["request"]).format(
        id=handoff_id, link=console_link(handoff_id), language=f" ({name})" if name else "",
        language_also=f", in {name}" if name else "")


def language_label(language: Optional[str]) -> str:
    """What advocates are shown of a conversation's language: its name ("Spanish"), or "" for
    English (the console's own language) and for a language nobody could tell."""
    if not language or language == "en":
        return ""
    known = language_table().lookup(language)
    return known.name if known else language


def summary_text(count: int, urgent: int) -> str:
    """The batch's words: how many wait and how many are urgent, and the queue's link; no handoff
    is named (the queue shows them, most urgent first)."""
    if count == 1:
        return SUMMARY_TEXT[True].format(urgent=", urgent" if urgent else "", link=console_base() + "/")
    return SUMMARY_TEXT[False].format(count=count, urgent=urgent, link=console_base() + "/")


async def send_handoff_alerts(handoff_id: int, priority: str, language: Optional[str] = None) -> AlertResult:
    """Text every on-call advocate about handoff `handoff_id` (`language`: what the survivor writes
    in, named in the text when it is not English), or leave it for the next summary
    when the alert budget is spent; never raises (the survivor's reply must not depend on it),
    records what was sent."""
    numbers = alert_numbers()
    if not numbers:
        return AlertResult(0, 0)
    reserved = await _reserved(handoff_id, priority, len(numbers))
    if reserved is None:
        return AlertResult(len(numbers), 0)
    alert_id, batched = reserved
    if batched:
        summary_timer()
        return AlertResult(len(numbers), 0, batched=True)
    delivered = await _text(numbers, alert_text(handoff_id, priority, language), f"handoff {handoff_id}")
    await _record_delivered(Alert, alert_id, delivered)
    return AlertResult(len(numbers), delivered)


async def _reserved(handoff_id: int, priority: str, recipients: int) -> Optional[tuple[int, bool]]:
    """The alert's row, counted in the budget before anything is sent: (its id, whether it is
    left for a summary rather than texted now), or None when the database cannot record it
    (then nothing is sent: an alert nobody counted would slip past the budget in a flood, and the
    handoff is in the queue all the same)."""
    for attempt in range(RESERVE_ATTEMPTS):
        try:
            return await asyncio.to_thread(_reserve, handoff_id, priority, recipients)
        except Exception as error:
            logger.warning("the alert for handoff %s could not be recorded: %s", handoff_id, type(error).__name__)
            if attempt + 1 < RESERVE_ATTEMPTS:
                await asyncio.sleep(RESERVE_PAUSE_S)
    logger.error("handoff %s is in the queue but no advocate was texted: the alert could not be recorded",
                 handoff_id)
    return None


def _reserve(handoff_id: int, priority: str, recipients: int,
             now: Optional[dt.datetime] = None) -> tuple[int, bool]:
    budget = flood_budget.budgets()
    now = now or utcnow()
    with session_scope() as session:
        batching = False
        if budget.alerts > 0:
            flood_budget.take_gate(session, flood_budget.ALERTS_GATE)
            since = now - budget.window
            texted = session.execute(select(func.count()).select_from(Alert).where(
                Alert.created_at > since, (Alert.kind.is_(None)) | (Alert.kind == TEXTED))).scalar_one()
            summarised = session.execute(select(AlertSummary.id).where(AlertSummary.created_at > since)
                                         .limit(1)).first() is not None
            batching = texted >= budget.alerts or summarised or _oldest_waiting(session) is not None
        alert = Alert(handoff_id=handoff_id, priority=priority, recipients=0 if batching else recipients,
                      delivered=0, created_at=now, kind=BATCHED if batching else TEXTED)
        session.add(alert)
        session.flush()
        if batching:
            logger.info("handoff %s: alert left for the next summary (alert budget spent)", handoff_id)
        return alert.id, batching


def _oldest_waiting(session) -> Optional[dt.datetime]:
    """When the oldest alert still waiting for a summary was left, or None."""
    return session.execute(select(func.min(Alert.created_at)).where(
        Alert.kind == BATCHED, Alert.summary_id.is_(None))).scalar()


async def _text(numbers: list[str], text: str, what: str) -> int:
    """Send `text` to every number at once; how many went (failures logged by type, no number)."""
    outcomes = await asyncio.gather(*(send_sms(number, text) for number in numbers), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            logger.warning("an advocate alert (%s) was not sent: %s", what, type(outcome).__name__)
    return sum(not isinstance(o, BaseException) for o in outcomes)


async def _record_delivered(table, row_id: int, delivered: int) -> None:
    def record() -> None:
        with session_scope() as session:
            session.execute(update(table).where(table.id == row_id).values(delivered=delivered)
                            .execution_options(synchronize_session=False))
    try:
        await asyncio.to_thread(record)
    except Exception as error:
        logger.error("could not record what an advocate alert delivered: %s", type(error).__name__)


# --- summaries --------------------------------------------------------------------------

def summary_due_at(now: Optional[dt.datetime] = None) -> Optional[dt.datetime]:
    """When the next summary is due (None: no alert waits for one): FLOOD_SUMMARY_GATHER_SECONDS
    after the oldest alert waiting for it, and FLOOD_SUMMARY_MINUTES after the last summary.
    Blocking."""
    budget = flood_budget.budgets()
    with session_scope() as session:
        oldest = _oldest_waiting(session)
        if oldest is None:
            return None
        last = session.execute(select(flood_budget.FloodGate.at).where(
            flood_budget.FloodGate.name == flood_budget.SUMMARY_GATE)).scalar()
    gathered = oldest + budget.summary_gather
    return gathered if last is None else max(gathered, last + budget.summary_every)


def _claim_summary(recipients: int, now: Optional[dt.datetime] = None) -> Optional[AlertSummary]:
    """Take every alert waiting for a summary into a new one, if one is due and no other process
    took it: the summary (with its counts) or None. Blocking."""
    budget = flood_budget.budgets()
    now = now or utcnow()
    with session_scope() as session:
        flood_budget.take_gate(session, flood_budget.SUMMARY_GATE)
        oldest = _oldest_waiting(session)
        if oldest is None or oldest + budget.summary_gather > now:
            return None
        gate = flood_budget.FloodGate
        claimed = session.execute(
            update(gate).where(gate.name == flood_budget.SUMMARY_GATE,
                               gate.at.is_(None) | (gate.at <= now - budget.summary_every))
            .values(at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:  # sent lately (by this process or another): not due yet
            return None
        summary = AlertSummary(created_at=now, recipients=recipients)
        session.add(summary)
        session.flush()
        session.execute(update(Alert).where(Alert.kind == BATCHED, Alert.summary_id.is_(None))
                        .values(summary_id=summary.id).execution_options(synchronize_session=False))
        waiting = session.execute(
            select(Handoff.id, Handoff.priority).where(
                Handoff.id.in_(select(Alert.handoff_id).where(Alert.summary_id == summary.id)),
                Handoff.status == "open", Handoff.declined_at.is_(None))).all()
        summary.handoffs = len(waiting)
        summary.urgent = sum(priority == EMERGENCY_PRIORITY for _id, priority in waiting)
        if not summary.handoffs:
            summary.recipients = 0  # every one was taken meanwhile: nothing to tell
        return summary


async def send_due_summary(now: Optional[dt.datetime] = None) -> Optional[AlertResult]:
    """Send the summary if it is due and this process claims it: what was sent, or None."""
    numbers = alert_numbers()
    summary = await asyncio.to_thread(_claim_summary, len(numbers), now)
    if summary is None:
        return None
    if not summary.handoffs or not numbers:
        return AlertResult(0, 0)
    delivered = await _text(numbers, summary_text(summary.handoffs, summary.urgent), "summary")
    await _record_delivered(AlertSummary, summary.id, delivered)
    logger.info("alert summary sent: %s handoffs, %s urgent", summary.handoffs, summary.urgent)
    return AlertResult(len(numbers), delivered)


_timer: Optional["asyncio.Task"] = None


def summary_timer() -> None:
    """Make sure this process sends the summary when it is due (one timer per process)."""
    global _timer
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if _timer is not None and not _timer.done() and _timer.get_loop() is loop:
        return
    _timer = loop.create_task(_send_summaries())


async def _send_summaries() -> None:
    """Until no alert waits for a summary: sleep until one is due, then send it (or find that
    another process did)."""
    while True:
        try:
            due = await asyncio.to_thread(summary_due_at)
            if due is None:
                return
            wait = (due - utcnow()).total_seconds()
            if wait > 0:
                await asyncio.sleep(min(max(wait, SUMMARY_MIN_PAUSE_S / 10), SUMMARY_RECHECK_S))
                continue
            await send_due_summary()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database may be away for a moment: try again later
            logger.error("the alert summary could not be sent: %s; trying again", type(error).__name__)
            await asyncio.sleep(SUMMARY_RECHECK_S)
            continue
        await asyncio.sleep(SUMMARY_MIN_PAUSE_S)


async def summaries_sent() -> None:
    """Wait until this process's summary timer has nothing more to send (tests)."""
    if _timer is not None and not _timer.done():
        await _timer
