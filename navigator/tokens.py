"""Bearer tokens for the console's JSON API (CONTRACT.md: `navigator tokens create NAME`).

A token is shown once, when created; only its SHA-256 hash is stored. Tokens are 256-bit random
strings, so a fast hash is enough (passwords, which people choose, are hashed otherwise).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional

from sqlalchemy import Column, DateTime, Integer, String, select
from sqlalchemy.orm import Session

from navigator.db import Base
from navigator.handoffs import utcnow


class ApiToken(Base):
    __tablename__ = "api_token"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    revoked_at = Column(DateTime, nullable=True)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str) -> str:
    """Store a new token for `name` and return it in plain text (the only time it is seen)."""
    name = name.strip()
    if not name:
        raise ValueError("a token needs a name, for example the integration that will use it")
    token = "nav_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_hash(token), created_at=utcnow()))
    session.flush()
    return token


def verify_token(session: Session, token: Optional[str]) -> Optional[ApiToken]:
    """The live token matching `token`, or None."""
    if not token:
        return None
    digest = _hash(token)
    row = session.execute(
        select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
    ).scalars().first()
    return row if row is not None and hmac.compare_digest(row.token_hash, digest) else None
