"""The audit log: who signed in, who opened which conversation, claimed, replied, handed back and
closed it, and when the survivor was told nobody was free yet.

It records acts, never words: no message text, no phone number, no conversation id (the handoff
id leads to the conversation for those allowed to see it). `detail` is a code from a fixed list.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, select
from sqlalchemy.orm import Session

from conversations.handoffs import OUTCOMES
from infra import retention
from infra.clock import utcnow
from infra.db import Base

ACTIONS = {
    "signed_in": "Signed in",
    "sign_in_refused": "Sign-in refused",
    "signed_out": "Signed out",
    "viewed": "Opened the conversation",
    "claimed": "Claimed",
    "taken_over": "Took over",
    "replied": "Replied",
    "handed_back": "Handed back to the bot",
    "closed": "Closed",
    "unclaimed_notice": "Told the survivor nobody was free yet",
    "listed": "Listed the handoffs", "looked_up": "Read the handoff's details",  # through the API
    "api_refused": "API request refused",
}
DETAILS = {"wrong_password": "wrong name or password", "locked": "locked out",
           # why the API refused a token's request (console.api)
           "revoked": "token revoked", "expired": "token expired", "read_only": "read-only token",
           "not_found": "no such handoff", "bad_request": "bad request", "wrong_state": "not possible now",
           "unavailable": "assistant unreachable",
           **{key: label.lower() for key, label in OUTCOMES.items()}}
SYSTEM = "(console)"  # the actor of what the console does by itself


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(100), nullable=False)  # advocate name, or SYSTEM
    action = Column(String(30), nullable=False)  # a key of ACTIONS
    handoff_id = Column(Integer, nullable=True, index=True)
    detail = Column(String(30), nullable=True)  # a key of DETAILS

    @property
    def action_label(self) -> str:
        return ACTIONS.get(self.action, self.action)

    @property
    def detail_label(self) -> str:
        return DETAILS.get(self.detail, "") if self.detail else ""


# What advocates did with a handoff: it goes with the handoff, or by age (retention)
retention.declare(retention.RetentionRule(table=AuditEntry.__table__, time_column=AuditEntry.at,
                                          handoff_column=AuditEntry.handoff_id))


def record(session: Session, actor: str, action: str, handoff_id: Optional[int] = None,
           detail: Optional[str] = None) -> AuditEntry:
    """Add one entry; `action` and `detail` must be known codes, so no free text gets in."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if detail is not None and detail not in DETAILS:
        raise ValueError(f"unknown audit detail {detail!r}")
    entry = AuditEntry(at=utcnow(), actor=actor[:100], action=action, handoff_id=handoff_id, detail=detail)
    session.add(entry)
    session.flush()
    return entry


def recent(session: Session, limit: int = 200, handoff_id: Optional[int] = None) -> list[AuditEntry]:
    """Newest first; only one handoff's entries when `handoff_id` is given."""
    query = select(AuditEntry)
    if handoff_id is not None:
        query = query.where(AuditEntry.handoff_id == handoff_id)
    return list(session.execute(query.order_by(AuditEntry.id.desc()).limit(limit)).scalars())


def viewed_lately(session: Session, actor: str, handoff_id: int, within: dt.timedelta) -> bool:
    """True if `actor` opened this conversation within `within` (page reloads are not new views)."""
    return session.execute(
        select(AuditEntry.id).where(AuditEntry.actor == actor, AuditEntry.handoff_id == handoff_id,
                                    AuditEntry.action == "viewed", AuditEntry.at > utcnow() - within)
    ).first() is not None

