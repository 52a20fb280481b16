"""Asking for an advocate: open (or escalate) a conversation's handoff and alert the advocates on
call, from whichever process noticed the need (the action server, or the Rasa server's fallback
when the action server cannot answer).

What the survivor is told depends on the outcome: a reply may say that an advocate was asked only
when the handoff is in the queue, where advocates see it. So the handoff is stored before the
reply is chosen (one short transaction, in a worker thread), and the advocates' SMS alerts go out
afterwards, in the background. The reply never waits more than STORE_WAIT_S: a database that is
locked or unreachable is answered "could not reach an advocate yet" (with the 24/7 lines), and the
request is not dropped: the slow write is awaited in the background, or retried every
RETRY_EVERY_S for RETRY_FOR, and the advocates are alerted once it is stored.

Retries live in the memory of the process that noticed: a process that dies meanwhile loses them
(the survivor already has the lines, and the next message asks again).
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Dict, Optional, Set

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from navigator.alerts import send_handoff_alerts
from navigator.db import session_scope
from navigator.handoffs import PRIORITIES, Handoff, declined_by_survivor, live_handoff, open_handoff, place_in_line

logger = logging.getLogger(__name__)

STORE_WAIT_S = 2.0
RETRY_EVERY_S = 5.0
RETRY_FOR = dt.timedelta(minutes=15)

_background: Set["asyncio.Task"] = set()  # alerts and retries in flight (kept referenced until done)
_retrying: Dict[str, "Wanted"] = {}  # conversation id -> the most urgent request still to store


@dataclasses.dataclass(frozen=True)
class Asked:
    """What came of asking: whether the handoff is in the queue, and where it stands."""

    stored: bool
    handoff_id: Optional[int] = None
    place_in_line: int = 0  # 1 = the next one an advocate sees; 0 when it is not waiting
    claimed: bool = False  # an advocate already holds the conversation


@dataclasses.dataclass
class Wanted:
    conversation_id: str
    channel: str
    priority: str
    reason: str


async def ask_for_advocate(conversation_id: str, channel: str, priority: str, reason: str,
                           engine: Optional[Engine] = None) -> Asked:
    """Put the conversation in front of an advocate (or raise its priority), and alert the
    advocates when it is new, more urgent, or wanted again after a "no advocate". Never raises,
    never takes longer than STORE_WAIT_S: a database fault is logged by its type (its text holds
    the conversation id), the request is finished or retried in the background, and the answer
    is `Asked(stored=False)`."""
    wanted = Wanted(conversation_id, channel or "unknown", priority, reason)
    writing = asyncio.ensure_future(asyncio.to_thread(_store, wanted, engine))
    try:
        asked, alert = await asyncio.wait_for(asyncio.shield(writing), STORE_WAIT_S)
    except asyncio.TimeoutError:
        logger.error("recording a %s handoff is taking longer than %.0f s; finishing it in the background",
                     priority, STORE_WAIT_S)
        _in_background(_finish_late(writing, wanted, engine))
        return Asked(stored=False)
    except Exception as error:
        _failed(wanted, error, engine)
        return Asked(stored=False)
    if alert:
        alert_in_background(asked.handoff_id, priority)
    return asked


def _failed(wanted: Wanted, error: BaseException, engine: Optional[Engine]) -> None:
    logger.error("could not record a %s handoff: %s; retrying", wanted.priority, type(error).__name__)
    logger.debug("could not record a %s handoff", wanted.priority, exc_info=error)
    _retry_later(wanted, engine)


async def _finish_late(writing: "asyncio.Future", wanted: Wanted, engine: Optional[Engine]) -> None:
    """A slow write (a locked database) that may still succeed: alert when it does, retry if not."""
    try:
        asked, alert = await writing
    except Exception as error:
        _failed(wanted, error, engine)
        return
    _stored_late(wanted, asked, alert)


def _stored_late(wanted: Wanted, asked: Asked, alert: bool) -> None:
    """A handoff the survivor was told could not be stored yet is in the queue now: alert."""
    logger.warning("a %s handoff that could not be recorded at first is in the queue now (#%s)",
                   wanted.priority, asked.handoff_id)
    if alert:
        alert_in_background(asked.handoff_id, wanted.priority)


def current_request(conversation_id: str, engine: Optional[Engine] = None) -> Optional[Asked]:
    """The conversation's handoff waiting for or held by an advocate, as `Asked`; None when there
    is none, or when the survivor declined it (nobody is coming then)."""
    with session_scope(engine) as session:
        handoff = live_handoff(session, conversation_id)
        if handoff is None or (handoff.status == "open" and handoff.declined_at is not None):
            return None
        return _asked(session, handoff)


def _asked(session: Session, handoff: Handoff) -> Asked:
    return Asked(True, handoff.id, place_in_line(session, handoff), handoff.status == "claimed")


def decline(conversation_id: str, engine: Optional[Engine] = None) -> bool:
    """The survivor said no advocate (navigator.handoffs.declined_by_survivor); whether a handoff
    was waiting."""
    with session_scope(engine) as session:
        return declined_by_survivor(session, conversation_id) is not None


def _store(wanted: Wanted, engine: Optional[Engine]) -> tuple[Asked, bool]:
    with session_scope(engine) as session:
        before = live_handoff(session, wanted.conversation_id)
        was = (before.priority, before.declined_at is not None) if before is not None else None
        handoff = open_handoff(session, wanted.conversation_id, wanted.channel, wanted.priority, wanted.reason)
        logger.info("handoff %s: priority %s, reason %s", handoff.id, handoff.priority, wanted.reason)
        alert = was is None or was[0] != handoff.priority or (was[1] and wanted.priority == "emergency")
        asked = _asked(session, handoff)
    return asked, alert


def alert_in_background(handoff_id: Optional[int], priority: str) -> None:
    """Text the advocates on call about the handoff, after the survivor's reply (never before)."""
    if handoff_id is None:
        return
    _in_background(send_handoff_alerts(handoff_id, priority))


def _in_background(work) -> None:
    try:
        task = asyncio.get_running_loop().create_task(work)
    except RuntimeError:  # no event loop (a command-line caller): nothing can run later
        work.close()
        logger.error("no event loop to run a handoff's alert or retry in")
        return
    _background.add(task)
    task.add_done_callback(_background.discard)


def _retry_later(wanted: Wanted, engine: Optional[Engine]) -> None:
    pending = _retrying.get(wanted.conversation_id)
    if pending is not None:  # one retry per conversation, for its most urgent request
        if PRIORITIES.index(wanted.priority) < PRIORITIES.index(pending.priority):
            pending.priority, pending.reason = wanted.priority, wanted.reason
        return
    _retrying[wanted.conversation_id] = wanted
    _in_background(_keep_trying(wanted, engine))


async def _keep_trying(wanted: Wanted, engine: Optional[Engine]) -> None:
    deadline = asyncio.get_running_loop().time() + RETRY_FOR.total_seconds()
    try:
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(RETRY_EVERY_S)
            try:
                asked, alert = await asyncio.to_thread(_store, wanted, engine)
            except Exception as error:
                logger.debug("a handoff is still not recorded: %s", type(error).__name__)
                continue
            _stored_late(wanted, asked, alert)
            return
        logger.error("a %s handoff could not be recorded for %s; given up", wanted.priority, RETRY_FOR)
    finally:
        _retrying.pop(wanted.conversation_id, None)


async def settled() -> None:
    """Wait for the alerts and retries in flight (tests, and a server shutting down)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
