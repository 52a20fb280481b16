"""Server-side sessions of signed-in advocates, with their CSRF tokens.

The browser holds only a random token (in an HttpOnly cookie); the database holds its SHA-256
hash, so a copy of the database does not let anyone sign in. A session ends at sign-out, after
`idle` without anything the advocate did, after `lifetime` in any case, and as soon as its
account is disabled or given a new password (console.accounts.Advocate.end_sessions: each
session keeps the account's `session_epoch` from its start, and is dead once that moved on).

Only what the advocate does restarts the idle clock: the pages' background polling (the queue
and an open conversation refresh every few seconds, console/static/console.js) does not, or a
console left open on an unattended screen would stay signed in, showing survivors' words, for
the whole `lifetime`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from typing import Optional

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, delete, func, select
from sqlalchemy.orm import Session

from console.accounts import Advocate
from infra import retention
from infra.clock import utcnow
from infra.db import Base


class AdvocateSession(Base):
    __tablename__ = "advocate_session"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    advocate_id = Column(Integer, ForeignKey("advocate.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow)  # the advocate's last own request
    epoch = Column(Integer, nullable=True)  # the account's session_epoch when it began (None: 0)


retention.exempt(AdvocateSession.__table__, why="advocates' sign-ins (hashes), no conversation")


@dataclasses.dataclass(frozen=True)
class SessionPolicy:
    idle: dt.timedelta = dt.timedelta(minutes=30)
    lifetime: dt.timedelta = dt.timedelta(hours=12)


@dataclasses.dataclass(frozen=True)
class SignedIn:
    """Who is behind a request, and the token their forms must carry."""
    advocate_id: int
    name: str
    csrf_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, advocate: Advocate) -> tuple[str, SignedIn]:
    """A new session for `advocate`: (the cookie value, who is signed in)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    session.add(AdvocateSession(token_hash=_hash(token), advocate_id=advocate.id, csrf_token=csrf,
                                created_at=now, last_seen_at=now, epoch=advocate.current_session_epoch))
    session.flush()
    return token, SignedIn(advocate.id, advocate.name, csrf)


def resume_session(session: Session, token: Optional[str], policy: SessionPolicy,
                   activity: bool = True) -> Optional[SignedIn]:
    """Who holds the session `token`, if it is still good. A request of the advocate's own
    (`activity`) restarts the idle clock; a background poll does not."""
    if not token:
        return None
    now = utcnow()
    row = session.execute(
        select(AdvocateSession, Advocate).join(Advocate, Advocate.id == AdvocateSession.advocate_id)
        .where(AdvocateSession.token_hash == _hash(token))
    ).first()
    if row is None:
        return None
    stored, advocate = row
    if (not advocate.active or (stored.epoch or 0) != advocate.current_session_epoch
            or now - stored.last_seen_at > policy.idle or now - stored.created_at > policy.lifetime):
        session.delete(stored)
        return None
    if activity:
        stored.last_seen_at = now
    return SignedIn(advocate.id, advocate.name, stored.csrf_token)


def end_session(session: Session, token: Optional[str]) -> None:
    if token:
        session.execute(delete(AdvocateSession).where(AdvocateSession.token_hash == _hash(token)))


def delete_expired_sessions(session: Session, policy: SessionPolicy) -> int:
    """Delete sessions that timed out or whose account ended them (disabled, new password)."""
    now = utcnow()
    ended_by_account = select(Advocate.id).where(
        Advocate.id == AdvocateSession.advocate_id,
        (Advocate.disabled_at.is_not(None))
        | (func.coalesce(Advocate.session_epoch, 0) != func.coalesce(AdvocateSession.epoch, 0)))
    return session.execute(
        delete(AdvocateSession).where((AdvocateSession.last_seen_at < now - policy.idle)
                                      | (AdvocateSession.created_at < now - policy.lifetime)
                                      | ended_by_account.exists())
        .execution_options(synchronize_session=False)).rowcount
