"""The handoff queue: conversations that a human advocate must take over.

The action server opens handoffs (an emergency, or a survivor asking for a person); the console
lists them. A handoff records what was detected, never the survivor's words.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, select
from sqlalchemy.orm import Session

from navigator.db import Base

PRIORITIES = ("emergency", "request")  # most urgent first
STATUSES = ("open", "claimed", "closed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


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
    claimed_by = Column(String(100), nullable=True)
    closed_at = Column(DateTime, nullable=True)

    def to_dict(self) -> dict:
        def iso(value: Optional[dt.datetime]) -> Optional[str]:
            return value.replace(tzinfo=dt.timezone.utc).isoformat() if value else None

        return {"id": self.id, "conversation_id": self.conversation_id, "channel": self.channel,
                "priority": self.priority, "status": self.status, "reason": self.reason,
                "created_at": iso(self.created_at), "claimed_at": iso(self.claimed_at),
                "claimed_by": self.claimed_by, "closed_at": iso(self.closed_at)}


def open_handoff(session: Session, conversation_id: str, channel: str, priority: str,
                 reason: Optional[str] = None) -> Handoff:
    """Open a handoff, or raise the priority of the conversation's handoff already waiting.

    One conversation never has two live handoffs: an emergency during a pending request turns
    that request into an emergency.
    """
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {PRIORITIES}, not {priority!r}")
    live = session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id,
                              Handoff.status.in_(("open", "claimed")))
        .order_by(Handoff.id.desc())
    ).scalars().first()
    if live is not None:
        if PRIORITIES.index(priority) < PRIORITIES.index(live.priority):
            live.priority, live.reason = priority, reason
        return live
    handoff = Handoff(conversation_id=conversation_id, channel=channel or "unknown",
                      priority=priority, reason=reason, status="open", created_at=utcnow())
    session.add(handoff)
    session.flush()
    return handoff


def list_handoffs(session: Session, status: Optional[str] = None) -> list[Handoff]:
    """Handoffs most urgent first, then oldest first; only those of `status` when given."""
    query = select(Handoff)
    if status:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        query = query.where(Handoff.status == status)
    rows = session.execute(query.order_by(Handoff.created_at, Handoff.id)).scalars().all()
    return sorted(rows, key=lambda h: PRIORITIES.index(h.priority) if h.priority in PRIORITIES else 99)
