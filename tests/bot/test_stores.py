"""Rasa's lock store follows LOCK_STORE_URL: Redis when set (scale-out), in memory otherwise."""
import asyncio
import os

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

from bot.stores import ConfiguredLockStore, redis_lock_store

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")


def test_in_memory_without_lock_store_url(monkeypatch):
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    assert isinstance(ConfiguredLockStore().backend, InMemoryLockStore)


def test_a_url_that_is_not_redis_is_a_clear_error():
    with pytest.raises(ValueError, match="redis://"):
        redis_lock_store("http://127.0.0.1:6379")


def test_redis_lock_is_held_in_redis_while_a_turn_runs(monkeypatch):
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except Exception:
        if os.environ.get("CI"):
            pytest.fail("CI must reach Redis at " + REDIS_URL)
        pytest.skip("no Redis at " + REDIS_URL)
    monkeypatch.setenv("LOCK_STORE_URL", REDIS_URL)
    store = ConfiguredLockStore()
    assert isinstance(store.backend, RedisLockStore)

    async def turn():
        async with store.lock("conv-lock-test"):
            return [k.decode() for k in client.keys("navigator*conv-lock-test*")]

    assert asyncio.run(turn()), "no lock key in Redis during the turn"
    assert not client.keys("navigator*conv-lock-test*")  # released afterwards


def test_two_servers_taking_a_ticket_at_once_get_different_tickets(monkeypatch):
    """Rasa's Redis lock store issues tickets by read-modify-write; without our mutex, two servers
    reading the lock at the same moment both get the same ticket and run one conversation twice."""
    import threading
    import time

    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception:
        if os.environ.get("CI"):
            pytest.fail("CI must reach Redis at " + REDIS_URL)
        pytest.skip("no Redis at " + REDIS_URL)
    monkeypatch.setenv("LOCK_STORE_URL", REDIS_URL)
    servers = [ConfiguredLockStore(), ConfiguredLockStore()]
    for server in servers:
        read = server.backend.get_lock

        def slow_read(conversation_id, read=read):
            lock = read(conversation_id)
            time.sleep(0.2)  # another server reads the same lock meanwhile
            return lock

        server.backend.get_lock = slow_read
    tickets = []
    threads = [threading.Thread(target=lambda s=s: tickets.append(s.issue_ticket("conv-race-test")))
               for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    servers[0].backend.delete_lock("conv-race-test")
    assert sorted(tickets) == [0, 1]
