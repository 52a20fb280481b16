"""Rasa's lock store, chosen by `LOCK_STORE_URL` (CONTRACT.md) so endpoints.yml stays one file.

With a `redis://` URL, Rasa's own RedisLockStore serialises turns across several Rasa servers;
without one, its in-memory lock store serves the single-machine set-up.

Rasa 3.6 changes a Redis lock by read-modify-write (get the ticket list, add or remove a ticket,
set it back), so two servers taking a ticket at the same moment can both get the same number and
run the same conversation's turns at once, and one turn's events are then lost from the tracker
store. Every change of a lock here happens under a short Redis mutex for that conversation.

The tracker store's `events` table (TRACKER_STORE_URL) is Rasa's (SQLTrackerStore.SQLEvent), so its
retention rule is declared here, on the Rasa side: `TRACKER_EVENTS` names only the two columns the
purge reads, on a MetaData of its own (never created by navigator.schema in DATABASE_URL), and not
Rasa's model itself, whose import would cost every process that loads the schema a second.
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional, Text
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import Column, Float, MetaData, String, Table

from infra import retention
from infra.config import lock_store_url

TRACKER_EVENTS = Table("events", MetaData(), Column("sender_id", String(255), nullable=False),
                       Column("timestamp", Float))
# Per message: a purge deletes every event up to its cut-off (a conversation going on keeps the rest).
retention.declare(retention.RetentionRule(
    table=TRACKER_EVENTS, time_column=TRACKER_EVENTS.c.timestamp,
    conversation_column=TRACKER_EVENTS.c.sender_id, store=retention.TRACKER))


def redis_lock_store(url: str) -> RedisLockStore:
    """A RedisLockStore for a `redis://[user:password@]host[:port][/db]` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"LOCK_STORE_URL must start with redis:// or rediss://, not {parts.scheme or url!r}")
    db = parts.path.strip("/") or "1"
    return RedisLockStore(host=parts.hostname or "localhost", port=parts.port or 6379, db=int(db),
                          username=parts.username, password=parts.password,
                          use_ssl=parts.scheme == "rediss", key_prefix="navigator")


MUTEX_TIMEOUT_S = 5  # a lock change takes milliseconds; a crashed holder frees it after this


class ConfiguredLockStore(LockStore):
    """Delegates to Redis or in-memory locking, whichever the environment asks for."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        url = lock_store_url()
        self.backend: LockStore = redis_lock_store(url) if url else InMemoryLockStore()
        super().__init__()

    @contextlib.contextmanager
    def _changing(self, conversation_id: Text) -> Iterator[None]:
        """Exclusive right to change this conversation's lock, across every Rasa server."""
        if not isinstance(self.backend, RedisLockStore):
            yield  # one process: Rasa's own calls never interleave here
            return
        mutex = self.backend.red.lock(f"{self.backend.key_prefix}mutex:{conversation_id}",
                                      timeout=MUTEX_TIMEOUT_S, blocking_timeout=MUTEX_TIMEOUT_S)
        with mutex:
            yield

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._changing(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: Text) -> None:
        with self._changing(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        with self._changing(conversation_id):
            super().cleanup(conversation_id, ticket_number)

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self.backend.get_lock(conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        self.backend.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.backend.save_lock(lock)
