"""The web chat's sessions: which conversation ids the server issued, and the hash of the resume
secret each was issued with (table `webchat_session` in `DATABASE_URL`).

Why: a web chat conversation id is not a secret. It is the Rasa sender id, so it is shown by the
console API (`conversation_id`), the console and the logs. If knowing it were enough to join the
conversation, anyone who saw it (a leaked integration token, a curious insider, a log reader)
could read a survivor's chat, history and advocates' replies live. So a new session gets, with
its id, a random resume secret that only that browser tab holds (sessionStorage); a hello that
resumes a session must bring the secret, and one that does not (or names an id the server never
issued) gets a new, empty conversation (bot/channels/webchat/socket.py).

Only a SHA-256 hash of the secret is stored: the secret is 32 random bytes, so a plain hash
cannot be reversed or guessed, and needs no key (a key ring change, infra.secret_key, cannot
make sessions unresumable). Secrets are compared in constant time. The rows live in the
database, not in memory, so a widget that reconnects to another Rasa server resumes as well.

A row is keyed by the conversation id, so retention (its rule below, infra.retention:
by `last_seen_at`) and an erase delete it with the conversation; a quick exit forgets it too.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional, Text

from sqlalchemy import Column, DateTime, String, delete, select, update
from sqlalchemy.engine import Engine

from infra import retention
from infra.clock import utcnow
from infra.db import Base, get_engine, session_scope

SECRET_BYTES = 32
MAX_SECRET_CHARS = 128  # a longer "secret" is not one we issued: refused before it is hashed


class WebChatSession(Base):
    __tablename__ = "webchat_session"

    conversation_id = Column(String(64), primary_key=True)
    secret_hash = Column(String(64), nullable=False)  # SHA-256 of the resume secret, hex
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow, index=True)  # retention counts from it


retention.declare(retention.RetentionRule(
    table=WebChatSession.__table__, time_column=WebChatSession.last_seen_at,
    conversation_column=WebChatSession.conversation_id))


def secret_hash(secret: Text) -> Text:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> Text:
    return secrets.token_urlsafe(SECRET_BYTES)


def issue(conversation_id: Text, engine: Optional[Engine] = None) -> Text:
    """Record a new session; answers its resume secret (stored only as a hash)."""
    secret = new_secret()
    with session_scope(engine or get_engine()) as session:
        session.add(WebChatSession(conversation_id=conversation_id, secret_hash=secret_hash(secret)))
    return secret


def resume(conversation_id: Text, secret: object, engine: Optional[Engine] = None) -> bool:
    """True when the server issued this session and `secret` is its resume secret; then the
    session counts as seen now (retention)."""
    if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET_CHARS:
        return False
    offered = secret_hash(secret)
    with session_scope(engine or get_engine()) as session:
        stored = session.execute(select(WebChatSession.secret_hash).where(
            WebChatSession.conversation_id == conversation_id)).scalar_one_or_none()
        if stored is None or not hmac.compare_digest(stored, offered):
            return False
        session.execute(update(WebChatSession).where(WebChatSession.conversation_id == conversation_id)
                        .values(last_seen_at=utcnow()))
    return True


def touch(conversation_id: Text, engine: Optional[Engine] = None) -> None:
    """The session is in use now (a long-open chat is not purged as idle)."""
    with session_scope(engine or get_engine()) as session:
        session.execute(update(WebChatSession).where(WebChatSession.conversation_id == conversation_id)
                        .values(last_seen_at=utcnow()))


def forget(conversation_id: Text, engine: Optional[Engine] = None) -> None:
    """The session can never be resumed again (a quick exit)."""
    with session_scope(engine or get_engine()) as session:
        session.execute(delete(WebChatSession).where(WebChatSession.conversation_id == conversation_id))
