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

Flood control (conversations.flood_budget): a new handoff of a conversation that has just begun is
opened only while the global budget of new handoffs has room (counted in the database, across
every process). Over it, the survivor still hears the emergency words and the 24/7 lines, and
"could not reach an advocate just now, I will keep trying" (`Asked(stored=False)`), and that is
true: the request waits here, most urgent and oldest first, and is stored as soon as the budget
has room (for RETRY_FOR; at most MAX_WAITING_FOR_ROOM requests per process). Never budgeted: a
conversation with a live handoff (raising its priority is not new), one that had a handoff
before, and one that has been talking for FLOOD_TALKING_SECONDS (the caller passes its events),
so a survivor who has been writing is never held back by a flood of forged first messages.

Retries live in the memory of the process that noticed: a process that dies meanwhile loses them
(the survivor already has the lines, and the next message asks again).
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import logging
from typing import Any, Dict, Iterable, Optional, Set

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from conversations import flood_budget
from conversations.alerts import send_handoff_alerts
from conversations.handoffs import (
    EMERGENCY_PRIORITY,
    PRIORITIES,
    Handoff,
    declined_by_survivor,
    live_handoff,
    open_handoff,
    place_in_line,
)
from infra.clock import utcnow
from infra.db import session_scope

logger = logging.getLogger(__name__)
flood_budget.read()  # a bad FLOOD_* setting stops the process at start, not at a survivor's emergency

STORE_WAIT_S = 2.0
RETRY_EVERY_S = 5.0
RETRY_FOR = dt.timedelta(minutes=15)
MAX_WAITING_FOR_ROOM = 1000  # requests over the handoff budget kept per process (a few hundred kB)
ROOM_RECHECK_S = 30.0  # a request waiting for room looks again at least this often

_background: Set["asyncio.Task"] = set()  # alerts and retries in flight (kept referenced until done)
_retrying: Dict[str, "Wanted"] = {}  # conversation id -> the most urgent request still to store
# Requests over the handoff budget: conversation id -> (request, engine, loop time to give up)
_waiting_for_room: "collections.OrderedDict[str, tuple[Wanted, Optional[Engine], float]]" = \
    collections.OrderedDict()
_room_watch: Optional["asyncio.Task"] = None


@dataclasses.dataclass(frozen=True)
class Asked:
    """What came of asking: whether the handoff is in the queue, and where it stands."""

    stored: bool
    handoff_id: Optional[int] = None
    place_in_line: int = 0  # 1 = the next one an advocate sees; 0 when it is not waiting
    claimed: bool = False  # an advocate already holds the conversation
    language: Optional[str] = None  # what the survivor writes in, as the handoff keeps it (the alert says it)


@dataclasses.dataclass
class Wanted:
    conversation_id: str
    channel: str
    priority: str
    reason: str
    talking: bool = False  # the conversation has been talking for a while: never budgeted
    language: Optional[str] = None  # what the survivor writes in (ISO 639-1), when plain


async def ask_for_advocate(conversation_id: str, channel: str, priority: str, reason: str,
                           engine: Optional[Engine] = None, events: Optional[Iterable[Any]] = None,
                           language: Optional[str] = None) -> Asked:
    """Put the conversation in front of an advocate (or raise its priority), and alert the
    advocates when it is new, more urgent, or wanted again after a "no advocate". `events`: the
    conversation's (as the caller holds them), which say whether it has been talking for a
    while; `language`: what the survivor writes in (the advocate sees it). Never raises, never
    takes longer than STORE_WAIT_S: a database fault is logged by its type (its text holds the
    conversation id), the request is finished or retried in the background, and the answer is
    `Asked(stored=False)`; so is a new handoff over the flood budget, which waits for room."""
    wanted = Wanted(conversation_id, channel or "unknown", priority, reason,
                    talking=_talking(events), language=language)
    writing = asyncio.ensure_future(asyncio.to_thread(_store, wanted, engine))
    try:
        stored = await asyncio.wait_for(asyncio.shield(writing), STORE_WAIT_S)
    except asyncio.TimeoutError:
        logger.error("recording a %s handoff is taking longer than %.0f s; finishing it in the background",
                     priority, STORE_WAIT_S)
        _in_background(_finish_late(writing, wanted, engine))
        return Asked(stored=False)
    except Exception as error:
        _failed(wanted, error, engine)
        return Asked(stored=False)
    if stored is None:
        _wait_for_room(wanted, engine)
        return Asked(stored=False)
    asked, alert = stored
    if alert:
        alert_in_background(asked.handoff_id, priority, asked.language)
    return asked


def _talking(events: Optional[Iterable[Any]]) -> bool:
    try:
        return flood_budget.talking(events, flood_budget.budgets())
    except Exception as error:  # events of an unexpected shape: treated as a conversation just begun
        logger.warning("could not read how long a conversation has been talking: %s", type(error).__name__)
        return False


def _failed(wanted: Wanted, error: BaseException, engine: Optional[Engine]) -> None:
    logger.error("could not record a %s handoff: %s; retrying", wanted.priority, type(error).__name__)
    logger.debug("could not record a %s handoff", wanted.priority, exc_info=error)
    _retry_later(wanted, engine)


async def _finish_late(writing: "asyncio.Future", wanted: Wanted, engine: Optional[Engine]) -> None:
    """A slow write (a locked database) that may still succeed: alert when it does, retry if not."""
    try:
        stored = await writing
    except Exception as error:
        _failed(wanted, error, engine)
        return
    _settle_late(wanted, engine, stored)


async def _store_again(wanted: Wanted, engine: Optional[Engine]) -> bool:
    """One more try, in a worker thread, at a request that was not stored at first (a database
    fault, or no room in the flood budget), as both the retries after a fault and the wait for
    room make it: see `_settle_late`. A database fault raises (the caller decides when to try again)."""
    return _settle_late(wanted, engine, await asyncio.to_thread(_store, wanted, engine))


def _settle_late(wanted: Wanted, engine: Optional[Engine], stored: Optional[tuple[Asked, bool]]) -> bool:
    """What becomes of a request the survivor was told could not be stored yet, once a write of it
    ended (`stored`, as `_store` returns it): True when it is in the queue now (the advocates are
    alerted), False when it is over the flood budget (it waits for room)."""
    if stored is None:
        _wait_for_room(wanted, engine)
        return False
    asked, alert = stored
    logger.warning("a %s handoff that could not be recorded at first is in the queue now (#%s)",
                   wanted.priority, asked.handoff_id)
    if alert:
        alert_in_background(asked.handoff_id, wanted.priority, asked.language)
    return True


def current_request(conversation_id: str, engine: Optional[Engine] = None) -> Optional[Asked]:
    """The conversation's handoff waiting for or held by an advocate, as `Asked`; None when there
    is none, or when the survivor declined it (nobody is coming then)."""
    with session_scope(engine) as session:
        handoff = live_handoff(session, conversation_id)
        if handoff is None or (handoff.status == "open" and handoff.declined_at is not None):
            return None
        return _asked(session, handoff)


def _asked(session: Session, handoff: Handoff) -> Asked:
    return Asked(True, handoff.id, place_in_line(session, handoff), handoff.status == "claimed", handoff.language)


def decline(conversation_id: str, engine: Optional[Engine] = None) -> bool:
    """The survivor said no advocate (conversations.handoffs.declined_by_survivor); whether a handoff
    was waiting."""
    with session_scope(engine) as session:
        return declined_by_survivor(session, conversation_id) is not None


def _store(wanted: Wanted, engine: Optional[Engine]) -> Optional[tuple[Asked, bool]]:
    """Open or raise the conversation's handoff: (what came of it, whether to alert), or None when
    it would be a new handoff over the flood budget (then nothing is written)."""
    with session_scope(engine) as session:
        before = live_handoff(session, wanted.conversation_id)
        if before is None and not wanted.talking and not flood_budget.had_handoff(session, wanted.conversation_id):
            if not flood_budget.room_for_new_handoff(session, flood_budget.budgets()):
                return None
            # Under the budget's gate now: another process may have opened it meanwhile (the
            # fallback and the action answering one late turn); then it is not new, nor alerted again.
            before = live_handoff(session, wanted.conversation_id)
        was = (before.priority, before.declined_at is not None) if before is not None else None
        handoff = open_handoff(session, wanted.conversation_id, wanted.channel, wanted.priority, wanted.reason,
                               wanted.language)
        logger.info("handoff %s: priority %s, reason %s", handoff.id, handoff.priority, wanted.reason)
        alert = was is None or was[0] != handoff.priority or (was[1] and wanted.priority == EMERGENCY_PRIORITY)
        asked = _asked(session, handoff)
    return asked, alert


def alert_in_background(handoff_id: Optional[int], priority: str, language: Optional[str] = None) -> None:
    """Text the advocates on call about the handoff, after the survivor's reply (never before)."""
    if handoff_id is None:
        return
    _in_background(send_handoff_alerts(handoff_id, priority, language))


def _in_background(work) -> None:
    try:
        task = asyncio.get_running_loop().create_task(work)
    except RuntimeError:  # no event loop (a command-line caller): nothing can run later
        work.close()
        logger.error("no event loop to run a handoff's alert or retry in")
        return
    _background.add(task)
    task.add_done_callback(_background.discard)


def _keep_most_urgent(pending: Wanted, wanted: Wanted) -> None:
    """One request kept per conversation (to retry, or waiting for room): its most urgent."""
    if PRIORITIES.index(wanted.priority) < PRIORITIES.index(pending.priority):
        pending.priority, pending.reason = wanted.priority, wanted.reason


def _retry_later(wanted: Wanted, engine: Optional[Engine]) -> None:
    pending = _retrying.get(wanted.conversation_id)
    if pending is not None:
        _keep_most_urgent(pending, wanted)
        return
    _retrying[wanted.conversation_id] = wanted
    _in_background(_keep_trying(wanted, engine))


async def _keep_trying(wanted: Wanted, engine: Optional[Engine]) -> None:
    deadline = asyncio.get_running_loop().time() + RETRY_FOR.total_seconds()
    try:
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(RETRY_EVERY_S)
            try:
                await _store_again(wanted, engine)  # stored, or waiting for room from now on
            except Exception as error:
                logger.debug("a handoff is still not recorded: %s", type(error).__name__)
                continue
            return
        logger.error("a %s handoff could not be recorded for %s; given up", wanted.priority, RETRY_FOR)
    finally:
        _retrying.pop(wanted.conversation_id, None)


def _wait_for_room(wanted: Wanted, engine: Optional[Engine]) -> None:
    """Keep a request over the handoff budget until the budget has room (or RETRY_FOR passes)."""
    global _room_watch
    pending = _waiting_for_room.get(wanted.conversation_id)
    if pending is not None:
        _keep_most_urgent(pending[0], wanted)
    elif len(_waiting_for_room) >= MAX_WAITING_FOR_ROOM:
        logger.error("a %s handoff over the flood budget could not be kept: %s are waiting for room already",
                     wanted.priority, len(_waiting_for_room))
        return
    else:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.error("no event loop to keep a handoff over the flood budget in")
            return
        _waiting_for_room[wanted.conversation_id] = (wanted, engine, loop.time() + RETRY_FOR.total_seconds())
        waiting = len(_waiting_for_room)  # said once per hundred: a flood must not flood the log too
        logger.log(logging.WARNING if waiting % 100 == 1 else logging.DEBUG,
                   "a new %s handoff is over the flood budget; it waits for room (%s waiting)",
                   wanted.priority, waiting)
    loop = asyncio.get_running_loop()
    if _room_watch is None or _room_watch.done() or _room_watch.get_loop() is not loop:
        _room_watch = loop.create_task(_store_when_there_is_room())


async def _store_when_there_is_room() -> None:
    """Store the requests waiting for room, most urgent first, then the longest waiting, as the
    budget frees up; give up on those older than RETRY_FOR."""
    loop = asyncio.get_running_loop()
    while _waiting_for_room:
        for conversation_id, (wanted, _engine, deadline) in list(_waiting_for_room.items()):
            if loop.time() >= deadline:
                del _waiting_for_room[conversation_id]
                logger.error("a %s handoff over the flood budget found no room for %s; given up",
                             wanted.priority, RETRY_FOR)
        if not _waiting_for_room:
            return
        engine = next(iter(_waiting_for_room.values()))[1]
        try:
            wait = await asyncio.to_thread(_seconds_to_room, engine)
        except Exception as error:
            logger.debug("the handoff budget could not be read: %s", type(error).__name__)
            wait = ROOM_RECHECK_S
        if wait > 0:
            await asyncio.sleep(min(wait, ROOM_RECHECK_S))
            continue
        ordered = sorted(_waiting_for_room.items(), key=lambda item: PRIORITIES.index(item[1][0].priority))
        for conversation_id, (wanted, engine, _deadline) in ordered:
            try:
                if not await _store_again(wanted, engine):  # the budget is full again (it stays waiting)
                    break
            except Exception as error:
                logger.debug("a handoff waiting for room is still not recorded: %s", type(error).__name__, exc_info=True)
                break
            _waiting_for_room.pop(conversation_id, None)
        await asyncio.sleep(1.0)


def _seconds_to_room(engine: Optional[Engine]) -> float:
    budget = flood_budget.budgets()
    with session_scope(engine) as session:
        now = utcnow()
        return (flood_budget.next_room_at(session, budget, now) - now).total_seconds()


def waiting_for_room() -> int:
    """How many requests over the handoff budget this process keeps (tests, metrics)."""
    return len(_waiting_for_room)


async def settled() -> None:
    """Wait for the alerts and retries in flight (tests, and a server shutting down)."""
    while _background:
        await asyncio.gather(*list(_background), return_exceptions=True)
