"""Bearer tokens for the console's JSON API (CONTRACT.md: `navigator tokens create|revoke|list`).

A token is shown once, when created; only its SHA-256 hash is stored. Tokens are 256-bit random
strings, so a fast hash is enough (passwords, which people choose, are hashed otherwise).

Because a token can leak (a CRM's config file, a screenshot, a former contractor), each one is
limited in what it can do and for how long, and can be ended at once:
- a scope: `read` (the queue and transcripts) or `act` (also claim, reply, hand back, close);
- an optional expiry (`expires_at`), after which it is refused like a wrong token;
- `revoked_at`, set by `navigator tokens revoke NAME`; the next request with it gets 401;
- its name, under which every use goes to the audit log (`actor_name`), and `last_used_at`, so
  an operator sees which tokens are still in use (written at most once a minute per token, not
  on every request).

A name may be given to several tokens (an integration's old and new one while it rotates, or a
script that creates one per run): `revoke NAME` ends every live token of that name, so a leaked
one is never missed, and the audit log names the integration. To rotate without a gap, create
"crm-2", switch, then revoke "crm".
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, select, update
from sqlalchemy.orm import Session

from infra import retention
from infra.clock import utcnow
from infra.db import Base

READ, ACT = "read", "act"
SCOPES = (READ, ACT)  # act includes read
ACTOR_PREFIX = "token:"  # advocate names cannot hold ":", so a token's actor never passes for a person
NAME_PATTERN = re.compile(r"^[^\x00-\x1f\x7f]{1,80}$")  # any printable words: no line breaks in the audit log
LAST_USED_EVERY = dt.timedelta(minutes=1)


class ApiToken(Base):
    __tablename__ = "api_token"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    revoked_at = Column(DateTime, nullable=True)
    # Nullable so add_missing_columns can add them to an older database: a token made before
    # scopes existed could read and act, so NULL means `act`; NULL expiry means none.
    scope = Column(String(10), nullable=True)
    expires_at = Column(DateTime, nullable=True)
    last_used_at = Column(DateTime, nullable=True)

    @property
    def effective_scope(self) -> str:
        return self.scope or ACT

    @property
    def may_act(self) -> bool:
        return self.effective_scope == ACT

    @property
    def actor(self) -> str:
        return actor_name(self.name)

    def refusal(self, now: Optional[dt.datetime] = None) -> Optional[str]:
        """Why this token no longer works ("revoked", "expired"), or None while it is live."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return None


retention.exempt(ApiToken.__table__, why="integrations' API tokens (hashes), no conversation")


def actor_name(name: str) -> str:
    """Who a token is in the audit log and in a handoff's `claimed_by`."""
    return ACTOR_PREFIX + name


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _live(session: Session, name: str) -> list[ApiToken]:
    now = utcnow()
    return [row for row in session.execute(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))).scalars()
        if row.refusal(now) is None]


def create_token(session: Session, name: str, scope: str = ACT,
                 expires_at: Optional[dt.datetime] = None) -> str:
    """Store a new token for `name` and return it in plain text (the only time it is seen).
    `expires_at` is naive UTC."""
    name = (name or "").strip()
    if not name:
        raise ValueError("a token needs a name, for example the integration that will use it")
    if not NAME_PATTERN.match(name):
        raise ValueError("a token's name may have up to 80 characters, on one line")
    if scope not in SCOPES:
        raise ValueError(f"the scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if expires_at is not None and expires_at <= utcnow():
        raise ValueError("the expiry must be in the future")
    token = "nav_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_hash(token), created_at=utcnow(), scope=scope,
                         expires_at=expires_at))
    session.flush()
    return token


def find_token(session: Session, token: Optional[str]) -> Optional[ApiToken]:
    """The token row matching `token`, live or not (the API audits a dead token's use by name)."""
    if not token:
        return None
    digest = _hash(token)
    row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest)).scalars().first()
    return row if row is not None and hmac.compare_digest(row.token_hash, digest) else None


def verify_token(session: Session, token: Optional[str]) -> Optional[ApiToken]:
    """The live token matching `token`, or None (wrong, revoked or expired)."""
    row = find_token(session, token)
    return row if row is not None and row.refusal() is None else None


def note_use(session: Session, row: ApiToken) -> None:
    """Record that the token was used now, at most once per LAST_USED_EVERY (an integration
    polling every second must not write the token row every second)."""
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_EVERY:
        return
    session.execute(
        update(ApiToken).where(ApiToken.id == row.id,
                               (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - LAST_USED_EVERY))
        .values(last_used_at=now).execution_options(synchronize_session=False))


def revoke_token(session: Session, name: str) -> int:
    """End every live token called `name` now; how many were ended. A name with no live token
    is a clear error."""
    name = (name or "").strip()
    live = _live(session, name)
    if not live:
        known = session.execute(select(ApiToken).where(ApiToken.name == name)
                                .order_by(ApiToken.id.desc())).scalars().first()
        if known is None:
            raise LookupError(f"there is no token called {name!r} (navigator tokens list shows them)")
        raise LookupError(f"the token {name!r} already stopped working: it was {known.refusal()}")
    now = utcnow()
    for row in live:
        row.revoked_at = now
    session.flush()
    return len(live)


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, oldest first, live or not (rows hold only hashes, never a token)."""
    return list(session.execute(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)).scalars())
