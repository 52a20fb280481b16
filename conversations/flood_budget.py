"""Flood control on the safety function itself: global budgets for new handoffs and for the
advocates' alert texts, counted in `DATABASE_URL` so that they hold across every process that
opens handoffs (the action server, each Rasa server's fallback) and across restarts.

Why: a REST sender id costs nothing, so a script can send a thousand forged emergencies from a
thousand sender ids and as many addresses (IPv6 addresses rotate freely). Every emergency must
still be answered with 911 and the 24/7 lines (it is: those words never depend on the queue), but
without a global bound each one would also open a handoff and text every on-call advocate, and
the real emergency of that night would be lost among them on a phone that never stops ringing.
Per-address and per-sender limits (infra.rate_limits) cannot see such a flood: it has no
repeated key.

The budgets, from the environment (0 turns a budget off):

| variable | default | what it bounds |
|---|---|---|
| `FLOOD_WINDOW_MINUTES` | 10 | the window every count looks back over |
| `FLOOD_HANDOFFS_PER_WINDOW` | 300 | new handoffs from conversations that have just begun |
| `FLOOD_ALERTS_PER_WINDOW` | 5 | alert texts that name one handoff; past it, summaries |
| `FLOOD_SUMMARY_MINUTES` | 5 | at most one summary text ("12 new handoffs") this often |
| `FLOOD_SUMMARY_GATHER_SECONDS` | 60 | a summary waits this long after its first handoff |
| `FLOOD_TALKING_SECONDS` | 60 | a conversation talking this long is never budgeted |

Why these defaults: an agency's busiest nights bring a handful of handoffs an hour. The handoff
budget is the one a real survivor could meet (over it, their first-message emergency is stored
only when there is room), so it is set far above any real night: 300 new ones in 10 minutes is
1,800 an hour, more than a national hotline's whole contact rate, and an operator's own check
(say 100 emergency cases run back to back) stays well inside it. It bounds what a flood adds to
the queue and the database; the phones are protected by the alert budget, which is small. Five alert texts in ten
minutes tell the on-call phone everything it can act on one by one; past that the advocate needs
to know that the queue is filling, not each number, so one summary every five minutes says how
many wait and how many are urgent, and a flood costs each on-call phone at most 5 texts and then
one every 5 minutes, however many messages are forged. The first summary gathers for a minute, so
a burst is one text, and a real sixth handoff of a busy hour reaches the phone within a minute.

What is never budgeted: a conversation with a live handoff (an emergency that raises a waiting
request, an advocate's conversation: nothing new is opened), a conversation that had a handoff
before, and a conversation that has been talking normally (a message of it at least
`FLOOD_TALKING_SECONDS` old): a survivor who has been writing for a minute is not one of a
thousand forged first messages, and their emergency is always stored at once. Over the budget,
a conversation that has just begun gets the emergency words and the 24/7 lines and "I could not
reach an advocate just now. I will keep trying" (conversations.handoff_requests), which keeps
trying and stores the handoff once the budget has room.

Counting is exact across processes: each budgeted step first takes the row of its budget in
`flood_gate` with an UPDATE (a row lock on PostgreSQL, the write lock on SQLite), then counts and
writes in the same transaction, so two servers never both take the last place. The same table
claims each summary (an UPDATE ... WHERE the last one is old enough), so only one process sends it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from typing import Any, Iterable, Optional

from sqlalchemy import Column, DateTime, String, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from conversations.handoffs import Handoff
from infra import retention
from infra.clock import utcnow
from infra.config import number_setting
from infra.db import Base

logger = logging.getLogger(__name__)

HANDOFFS_GATE = "new_handoffs"
ALERTS_GATE = "alerts"
SUMMARY_GATE = "alert_summary"

DEFAULTS = {
    "FLOOD_WINDOW_MINUTES": 10,
    "FLOOD_HANDOFFS_PER_WINDOW": 300,
    "FLOOD_ALERTS_PER_WINDOW": 5,
    "FLOOD_SUMMARY_MINUTES": 5,
    "FLOOD_SUMMARY_GATHER_SECONDS": 60,
    "FLOOD_TALKING_SECONDS": 60,
}


class FloodGate(Base):
    """One row per budget: taken (UPDATE) to count and write under it; `at` is when a summary
    was last sent (SUMMARY_GATE only). Holds no person's data."""

    __tablename__ = "flood_gate"

    name = Column(String(30), primary_key=True)
    at = Column(DateTime, nullable=True)


retention.exempt(FloodGate.__table__, why="one row per budget, no person's data")


@dataclasses.dataclass(frozen=True)
class Budgets:
    window: dt.timedelta
    handoffs: int  # 0: no budget
    alerts: int  # 0: every alert names its handoff
    summary_every: dt.timedelta
    summary_gather: dt.timedelta
    talking: dt.timedelta


def budgets() -> Budgets:
    """The budgets as the environment sets them now (read at each use: cheap, and a test can
    change them). A bad value stopped the process at start (`read`); should one appear later,
    the defaults hold, said in the log, rather than an emergency's handoff failing on it."""
    try:
        return read()
    except SystemExit as error:
        logger.error("%s; the default flood budgets hold", error)
        return read(dict(DEFAULTS))


def read(environ: Optional[dict] = None) -> Budgets:
    """The budgets from `environ` (default: the environment); SystemExit names a bad value (a
    process that opens handoffs calls this at start, so it stops before any survivor writes)."""
    environ = os.environ if environ is None else environ
    value = {name: number_setting(name, default, environ=environ) for name, default in DEFAULTS.items()}
    return Budgets(window=dt.timedelta(minutes=value["FLOOD_WINDOW_MINUTES"] or DEFAULTS["FLOOD_WINDOW_MINUTES"]),
                   handoffs=int(value["FLOOD_HANDOFFS_PER_WINDOW"]),
                   alerts=int(value["FLOOD_ALERTS_PER_WINDOW"]),
                   summary_every=dt.timedelta(minutes=value["FLOOD_SUMMARY_MINUTES"]),
                   summary_gather=dt.timedelta(seconds=value["FLOOD_SUMMARY_GATHER_SECONDS"]),
                   talking=dt.timedelta(seconds=value["FLOOD_TALKING_SECONDS"]))




def take_gate(session: Session, name: str) -> None:
    """Hold the budget `name` until the session's transaction ends: every process that counts
    under it waits here, so a count and the write that follows it are never interleaved."""
    done = session.execute(update(FloodGate).where(FloodGate.name == name).values(name=name)
                           .execution_options(synchronize_session=False))
    if done.rowcount:
        return
    try:  # the first use of this budget in this database
        with session.begin_nested():
            session.add(FloodGate(name=name))
    except IntegrityError:  # another process made it meanwhile
        pass
    session.execute(update(FloodGate).where(FloodGate.name == name).values(name=name)
                    .execution_options(synchronize_session=False))


# --- new handoffs ------------------------------------------------------------------------

def talking(events: Optional[Iterable[Any]], budget: Budgets, now: Optional[dt.datetime] = None) -> bool:
    """Has the conversation been talking for `budget.talking`: is one of its survivor's messages
    at least that old? `events` as the action server gets them (dicts) or as the Rasa server
    holds them (rasa Event objects); None or empty: nothing is known, so it has just begun."""
    cutoff = ((now or utcnow()).replace(tzinfo=dt.timezone.utc) - budget.talking).timestamp()
    for event in events or ():
        if isinstance(event, dict):
            kind, at = event.get("event"), event.get("timestamp")
        else:
            kind, at = getattr(event, "type_name", None), getattr(event, "timestamp", None)
        if kind == "user" and isinstance(at, (int, float)) and at <= cutoff:
            return True
    return False


def had_handoff(session: Session, conversation_id: str) -> bool:
    """Whether the conversation ever had a handoff (any status): it is known to the queue."""
    return session.execute(select(Handoff.id).where(Handoff.conversation_id == conversation_id)
                           .limit(1)).first() is not None


def room_for_new_handoff(session: Session, budget: Budgets, now: Optional[dt.datetime] = None) -> bool:
    """May one more handoff of a conversation that has just begun be opened now? Takes the
    budget's gate first (held until the session commits), so the caller's write is counted by
    the next process that asks."""
    if budget.handoffs <= 0:
        return True
    take_gate(session, HANDOFFS_GATE)
    since = (now or utcnow()) - budget.window
    opened = session.execute(select(func.count()).select_from(Handoff)
                             .where(Handoff.created_at > since)).scalar_one()
    return opened < budget.handoffs


def next_room_at(session: Session, budget: Budgets, now: Optional[dt.datetime] = None) -> dt.datetime:
    """When the handoff budget has room again at the earliest: when enough of the window's
    handoffs have left it (now, when there is room already or no budget)."""
    now = now or utcnow()
    if budget.handoffs <= 0:
        return now
    since = now - budget.window
    in_window = select(Handoff.created_at).where(Handoff.created_at > since)
    opened = session.execute(select(func.count()).select_from(in_window.subquery())).scalar_one()
    if opened < budget.handoffs:
        return now
    leaving = session.execute(in_window.order_by(Handoff.created_at).offset(opened - budget.handoffs)
                              .limit(1)).scalar()
    return (leaving or now) + budget.window
