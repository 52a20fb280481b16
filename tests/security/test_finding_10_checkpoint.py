"""Finding 10, the checkpoint (issue 14): after a purge deleted survivors' words, the SQLite
write-ahead log was truncated with `PRAGMA wal_checkpoint(TRUNCATE)` and its answer ignored. That
answer is (busy, log frames, checkpointed frames): busy means another connection (a reader in a
transaction: the console, Rasa, someone's `sqlite3` shell) held the log, which was NOT truncated,
so old copies of deleted pages could stay in `tracker.db-wal` while the operator was told the
purge was done.

The attack: a connection holds a read transaction on the tracker store while
`navigator purge` runs.

What must happen: the purge tries the checkpoint a few times, then says so, in its report (a line
naming the file and the counts) and in a WARNING log line, never silently; once the reader is
gone, the next purge truncates the log and says nothing of it.
"""
from __future__ import annotations

import logging
import sqlite3
import time

from conversations.retention import purge
from tests.privacy.test_purge import DAY, save_conversation, stores


def test_a_checkpoint_another_connection_holds_up_is_retried_and_reported(tmp_path, monkeypatch, caplog):
    store, tracker_path, _ = stores(tmp_path, monkeypatch)
    save_conversation(store, "old-conv", "zebra-checkpoint-words", time.time() - 40 * DAY)
    save_conversation(store, "other-conv", "zebra-other-words", time.time() - 50 * DAY)
    reader = sqlite3.connect(tracker_path, isolation_level=None)
    reader.execute("PRAGMA journal_mode=WAL")  # as the running navigator's tracker store is
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM events").fetchone()[0] > 0  # a read transaction, held
    caplog.set_level(logging.WARNING, logger="conversations.retention")
    try:
        report = purge(30)
    finally:
        reader.execute("COMMIT")
        reader.close()

    assert report.conversations == 2  # the deletion itself is done
    (held,) = [c for c in report.checkpoints if c.busy]
    assert held.database == "tracker.db" and held.attempts > 1 and held.log_frames > 0
    (line,) = [line for line in report.lines() if "NOT truncated" in line]
    assert line.startswith("tracker.db: write-ahead log NOT truncated after") and f"{held.log_frames} frames" in line
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("tracker.db" in message and "not truncated" in message for message in warnings)
    assert not [message for message in warnings if "zebra" in message]

    again = purge(30)  # nobody holds it now
    assert not [c for c in again.checkpoints if c.busy]
    assert not [line for line in again.lines() if "NOT truncated" in line]
    assert not tracker_path.with_name("tracker.db-wal").exists() or \
        tracker_path.with_name("tracker.db-wal").stat().st_size == 0
