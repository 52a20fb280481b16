"""Rasa's lock store, chosen by `LOCK_STORE_URL` (CONTRACT.md) so endpoints.yml stays one file.

With a `redis://` URL, Rasa's own RedisLockStore serialises turns across several Rasa servers;
without one, its in-memory lock store serves the single-machine set-up.
"""
from __future__ import annotations

from typing import Optional, Text
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from navigator.config import lock_store_url


def redis_lock_store(url: str) -> RedisLockStore:
    """A RedisLockStore for a `redis://[user:password@]host[:port][/db]` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"LOCK_STORE_URL must start with redis:// or rediss://, not {parts.scheme or url!r}")
    db = parts.path.strip("/") or "1"
    return RedisLockStore(host=parts.hostname or "localhost", port=parts.port or 6379, db=int(db),
                          username=parts.username, password=parts.password,
                          use_ssl=parts.scheme == "rediss", key_prefix="navigator")


class ConfiguredLockStore(LockStore):
    """Delegates to Redis or in-memory locking, whichever the environment asks for."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        url = lock_store_url()
        self.backend: LockStore = redis_lock_store(url) if url else InMemoryLockStore()
        super().__init__()

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self.backend.get_lock(conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        self.backend.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.backend.save_lock(lock)
