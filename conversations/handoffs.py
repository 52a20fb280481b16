"""The handoff queue: conversations that a human advocate must take over, and their lifecycle.

The action server opens handoffs (an emergency, or a survivor asking for a person); advocates
claim, hand back and close them in the console. A handoff records what was detected, who held it
and how it ended, never the survivor's words (those stay in Rasa's tracker store).

    open --claim--> claimed --hand back--> handed_back --close--> closed
      \\_____________________close (nobody needed to take it)________/
      \\_____________________the survivor says no advocate (declined)__/   (a request)

A survivor who says "no advocate" after an emergency does not close it: the handoff stays open,
marked `declined_at`, for an advocate to review (it is not alerted again, and nobody is told it
waits); a new emergency in that conversation makes it urgent again. Nothing the survivor types
can take an emergency out of the queue, so an unclear answer ("no i cant talk") never cancels it.

Another advocate may take over a claimed handoff (the holder's shift ended); the bot stays paused.

State changes are single conditional UPDATEs, so two advocates can never both claim one handoff
and a notice to an unclaimed survivor goes out once, whichever console process sends it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, func, select, update
from sqlalchemy.orm import Session

from infra import retention
from infra.clock import utcnow
from infra.db import Base

EMERGENCY_PRIORITY, REQUEST_PRIORITY = "emergency", "request"
PRIORITIES = (EMERGENCY_PRIORITY, REQUEST_PRIORITY)  # most urgent first
STATUSES = ("open", "claimed", "handed_back", "closed")
# A handoff still waiting for, or held by, an advocate. A new emergency after a hand back opens a
# new handoff: the bot is in charge again and the queue must show it.
LIVE_STATUSES = ("open", "claimed")
ACTIVE_STATUSES = ("open", "claimed", "handed_back")  # not yet closed
SURVIVOR = "(survivor)"  # closed_by of a handoff the survivor declined
OUTCOMES = {
    "connected": "Connected to services",
    "safety_plan": "Made a safety plan",
    "declined": "Did not want an advocate",
    "no_response": "No response",
    "other": "Other",
}


class HandoffStateError(ValueError):
    """The handoff is not in a state that allows this step (claimed by someone else, closed...)."""


class Handoff(Base):
    __tablename__ = "handoff"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)  # Rasa sender id
    channel = Column(String(50), nullable=False)
    priority = Column(String(20), nullable=False)
    status = Column(String(20), nullable=False, default="open", index=True)
    reason = Column(String(50), nullable=True)  # what was detected: self_harm, danger, medical, request
    created_at = Column(DateTime, nullable=False, default=utcnow)
    claimed_at = Column(DateTime, nullable=True)
    claimed_by = Column(String(100), nullable=True)  # advocate name
    closed_at = Column(DateTime, nullable=True)
    handed_back_at = Column(DateTime, nullable=True)
    closed_by = Column(String(100), nullable=True)
    outcome = Column(String(30), nullable=True)  # a key of OUTCOMES
    unclaimed_notice_at = Column(DateTime, nullable=True)  # when the survivor was told nobody is free yet
    declined_at = Column(DateTime, nullable=True)  # the survivor said no advocate (an emergency stays open)
    joined_notice_at = Column(DateTime, nullable=True)  # when the survivor was told an advocate joined
    undelivered = Column(Integer, nullable=True)  # advocates' messages that could not be delivered
    language = Column(String(16), nullable=True)  # what the survivor writes in (ISO 639-1), when plain

    @property
    def handle(self) -> str:
        return conversation_handle(self.conversation_id)

    def to_dict(self) -> dict:
        def iso(value: Optional[dt.datetime]) -> Optional[str]:
            return value.replace(tzinfo=dt.timezone.utc).isoformat() if value else None

        return {"id": self.id, "conversation_id": self.conversation_id, "channel": self.channel,
                "priority": self.priority, "status": self.status, "reason": self.reason,
                "created_at": iso(self.created_at), "claimed_at": iso(self.claimed_at),
                "claimed_by": self.claimed_by, "handed_back_at": iso(self.handed_back_at),
                "closed_at": iso(self.closed_at), "closed_by": self.closed_by, "outcome": self.outcome,
                "unclaimed_notice_at": iso(self.unclaimed_notice_at), "declined_at": iso(self.declined_at),
                "joined_notice_at": iso(self.joined_notice_at), "undelivered": self.undelivered or 0,
                "language": self.language}


# A closed handoff goes by when it was closed; one not closed keeps its conversation whole through
# a purge of a number of days (conversations.retention), and what points at it (alerts, audit).
retention.declare(retention.RetentionRule(
    table=Handoff.__table__, time_column=func.coalesce(Handoff.closed_at, Handoff.created_at),
    conversation_column=Handoff.conversation_id, open_when=Handoff.status != "closed"))


def conversation_handle(conversation_id: str) -> str:
    """A short label for a conversation that people can say aloud and that reveals nothing.

    SMS sender ids are phone numbers (later keyed hashes); advocates see only this handle.
    Six hex digits cannot be turned back into a number: millions of numbers share each one.
    """
    return "C-" + hashlib.sha256(conversation_id.encode()).hexdigest()[:6].upper()


def live_handoff(session: Session, conversation_id: str) -> Optional[Handoff]:
    """The conversation's handoff that is waiting or held by an advocate, if any."""
    return session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id,
                              Handoff.status.in_(LIVE_STATUSES))
        .order_by(Handoff.id.desc())
    ).scalars().first()


def open_handoff(session: Session, conversation_id: str, channel: str, priority: str,
                 reason: Optional[str] = None, language: Optional[str] = None) -> Handoff:
    """Open a handoff, or raise the priority of the conversation's handoff already waiting.

    One conversation never has two live handoffs: an emergency during a pending request turns
    that request into an emergency, and an emergency after the survivor said no advocate makes
    the handoff wanted again (`declined_at` cleared). `language`: what the survivor writes in, as
    far as their words make it plain (None leaves what the handoff had).
    """
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {PRIORITIES}, not {priority!r}")
    live = live_handoff(session, conversation_id)
    if live is not None:
        if PRIORITIES.index(priority) < PRIORITIES.index(live.priority):
            live.priority, live.reason = priority, reason
        if live.declined_at is not None:
            live.declined_at = None
        if language:
            live.language = language
        return live
    handoff = Handoff(conversation_id=conversation_id, channel=channel or "unknown",
                      priority=priority, reason=reason, status="open", created_at=utcnow(), language=language)
    session.add(handoff)
    session.flush()
    return handoff


def _urgency(handoff: Handoff) -> int:
    return PRIORITIES.index(handoff.priority) if handoff.priority in PRIORITIES else len(PRIORITIES)


def list_handoffs(session: Session, status: Optional[str] = None,
                  statuses: Optional[tuple[str, ...]] = None) -> list[Handoff]:
    """Handoffs most urgent first, then oldest first; only those of `status` (or `statuses`) when given."""
    wanted = (status,) if status else statuses
    query = select(Handoff)
    if wanted:
        unknown = [s for s in wanted if s not in STATUSES]
        if unknown:
            raise ValueError(f"status must be one of {STATUSES}, not {unknown[0]!r}")
        query = query.where(Handoff.status.in_(wanted))
    rows = session.execute(query.order_by(Handoff.created_at, Handoff.id)).scalars().all()
    return sorted(rows, key=_urgency)


def recently_closed(session: Session, limit: int = 50) -> list[Handoff]:
    """The last closed handoffs, newest first (the console's "Closed" view)."""
    return list(session.execute(
        select(Handoff).where(Handoff.status == "closed").order_by(Handoff.closed_at.desc(), Handoff.id.desc())
        .limit(limit)).scalars())


def get_handoff(session: Session, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise LookupError(f"there is no handoff {handoff_id}")
    return handoff


def _refused(session: Session, handoff_id: int, action: str) -> HandoffStateError:
    """Why `action` was refused, in words an advocate understands."""
    handoff = get_handoff(session, handoff_id)
    session.refresh(handoff)
    if handoff.status == "closed":
        return HandoffStateError(f"Handoff {handoff_id} is already closed.")
    if handoff.status == "claimed":
        return HandoffStateError(f"Handoff {handoff_id} is held by {handoff.claimed_by}; only they can {action} it.")
    if handoff.status == "handed_back":
        return HandoffStateError(f"Handoff {handoff_id} was already handed back to the bot.")
    return HandoffStateError(f"Handoff {handoff_id} must be claimed before you {action} it.")


def claim_handoff(session: Session, handoff_id: int, advocate: str) -> Handoff:
    """Give an open handoff to `advocate`; refused if someone else claimed it first."""
    done = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "open")
        .values(status="claimed", claimed_by=advocate, claimed_at=utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise _refused(session, handoff_id, "claim")
    return _fresh(session, handoff_id)


def release_claim(session: Session, handoff_id: int, advocate: str) -> None:
    """Undo a claim that could not take effect (the bot could not be paused): back in the queue."""
    session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "claimed",
                              Handoff.claimed_by == advocate)
        .values(status="open", claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False))


def take_over_handoff(session: Session, handoff_id: int, advocate: str) -> str:
    """Give a handoff another advocate holds to `advocate` (the holder's shift ended, they are
    away); the conversation stays paused. Returns who held it before."""
    handoff = _fresh(session, handoff_id)
    previous = handoff.claimed_by
    if handoff.status != "claimed":
        raise _refused(session, handoff_id, "take over")
    if previous == advocate:
        raise HandoffStateError(f"You already have handoff {handoff_id}.")
    done = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "claimed",
                              Handoff.claimed_by == previous)
        .values(claimed_by=advocate, claimed_at=utcnow(), joined_notice_at=None)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # handed back, closed or taken by a third advocate meanwhile
        raise _refused(session, handoff_id, "take over")
    return previous


def declined_by_survivor(session: Session, conversation_id: str) -> Optional[Handoff]:
    """The survivor said clearly that they want no advocate. A request still waiting is closed
    (outcome `declined`), so nobody writes to them uninvited. An emergency stays in the queue,
    marked declined, for an advocate to review: it is not alerted again and the survivor is not
    told it waits. A handoff an advocate already holds is left alone: the survivor's words go to
    that advocate, who decides. Returns the conversation's handoff that was waiting, if any."""
    waiting = session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status == "open")
    ).scalars().all()
    now = utcnow()
    for handoff in waiting:
        if handoff.priority == "emergency":
            handoff.declined_at = handoff.declined_at or now
        else:
            handoff.status, handoff.closed_at = "closed", now
            handoff.closed_by, handoff.outcome = SURVIVOR, "declined"
    return waiting[-1] if waiting else None


def place_in_line(session: Session, handoff: Handoff) -> int:
    """Where `handoff` stands among those waiting for an advocate, counting from 1, in the order
    advocates see them (emergencies first, then the longest waiting). Handoffs the survivor
    declined are not waiting for anyone."""
    if handoff.status != "open":
        return 0
    waiting = [h for h in list_handoffs(session, "open") if h.declined_at is None or h.id == handoff.id]
    return next((number for number, h in enumerate(waiting, start=1) if h.id == handoff.id), 0)


def note_joined(session: Session, handoff_id: int) -> None:
    """The survivor has been told that an advocate joined (console.lifecycle)."""
    session.execute(update(Handoff).where(Handoff.id == handoff_id).values(joined_notice_at=utcnow())
                    .execution_options(synchronize_session=False))


def note_undelivered(session: Session, conversation_id: str) -> None:
    """An advocate's message to this conversation could not be delivered (the SMS outbox gave up):
    counted on its latest handoff, so the advocate sees it in the console."""
    latest = session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id.desc())
    ).scalars().first()
    if latest is not None:
        latest.undelivered = (latest.undelivered or 0) + 1


def held_by(session: Session, handoff_id: int, advocate: str, action: str) -> Handoff:
    """The handoff, if `advocate` holds it (claimed and not handed back); else a clear refusal."""
    handoff = _fresh(session, handoff_id)
    if handoff.status != "claimed" or handoff.claimed_by != advocate:
        raise _refused(session, handoff_id, action)
    return handoff


def mark_handed_back(session: Session, handoff_id: int, advocate: str) -> Handoff:
    """Record that `advocate` gave the conversation back to the bot."""
    done = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "claimed",
                              Handoff.claimed_by == advocate)
        .values(status="handed_back", handed_back_at=utcnow())
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise _refused(session, handoff_id, "hand back")
    return _fresh(session, handoff_id)


def close_handoff(session: Session, handoff_id: int, advocate: str, outcome: str) -> Handoff:
    """Close with an outcome. Anyone may close a handoff nobody holds (open, or handed back);
    one still `claimed` must be handed back first, by its holder (the bot is paused until then).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    done = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status.in_(("open", "handed_back")))
        .values(status="closed", closed_at=utcnow(), closed_by=advocate, outcome=outcome)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        handoff = _fresh(session, handoff_id)
        if handoff.status == "claimed" and handoff.claimed_by == advocate:
            raise HandoffStateError(f"Hand handoff {handoff_id} back to the bot before you close it.")
        raise _refused(session, handoff_id, "close")
    return _fresh(session, handoff_id)


def unclaimed_since(session: Session, cutoff: dt.datetime) -> list[int]:
    """Ids of open handoffs created before `cutoff` whose survivor has not yet been told (and did
    not say no advocate)."""
    return list(session.execute(
        select(Handoff.id).where(Handoff.status == "open", Handoff.unclaimed_notice_at.is_(None),
                                 Handoff.declined_at.is_(None), Handoff.created_at <= cutoff)
        .order_by(Handoff.id)).scalars())


def reserve_unclaimed_notice(session: Session, handoff_id: int) -> Optional[Handoff]:
    """Mark the notice as sent, if nobody else did and it is still unclaimed; the handoff or None."""
    done = session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "open",
                              Handoff.unclaimed_notice_at.is_(None))
        .values(unclaimed_notice_at=utcnow())
        .execution_options(synchronize_session=False))
    return _fresh(session, handoff_id) if done.rowcount == 1 else None


def cancel_unclaimed_notice(session: Session, handoff_id: int) -> None:
    """The notice could not be delivered: let the next round try again."""
    session.execute(update(Handoff).where(Handoff.id == handoff_id).values(unclaimed_notice_at=None)
                    .execution_options(synchronize_session=False))


def _fresh(session: Session, handoff_id: int) -> Handoff:
    handoff = get_handoff(session, handoff_id)
    session.refresh(handoff)
    return handoff
