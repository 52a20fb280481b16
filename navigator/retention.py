"""Retention and real deletion of what survivors said (CONTRACT.md: `navigator purge`).

Conversations live in Rasa's tracker store (`TRACKER_STORE_URL`, table `events`); what points at
them (handoffs, the audit trail, alerts, idempotency records of the channels) lives in
`DATABASE_URL`. A purge removes conversations whose last activity is older than the cut-off and
every record of them, in both stores.

While the navigator runs (`navigator serve`), `DailyPurge` applies the default retention:
conversations idle for more than `RETENTION_DAYS` days (default 30; "off" keeps them until an
operator purges) are purged at start-up and then once a day, so nobody has to remember a cron job.

`erase_conversation` deletes one conversation and every record of it the same way, at once: a
texter's DELETE on the SMS line (bot/channels/twilio.py).

Deleting a row is not enough: SQLite keeps deleted text in free pages and in its write-ahead log.
So both turn on `secure_delete` (deleted content overwritten with zeros) and truncate the log;
the purge also vacuums (a one-conversation erase does not: VACUUM rewrites the whole file and
would hold up every conversation's writes meanwhile). PostgreSQL keeps dead tuples until VACUUM
reclaims them; the README says what an operator must schedule there.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from navigator import config, db

DEFAULT_RETENTION_DAYS = 30.0
RETENTION_INTERVAL_S = 24 * 3600

# Tables of DATABASE_URL that hold per-conversation records: (table, time column, conversation id
# column or None). A table that does not exist (yet) in a database is skipped.
CONVERSATION_RECORDS = (
    ("handoff", "created_at", "conversation_id"),
    ("alert", "created_at", None),
    ("audit_log", "at", None),
    ("sms_contact", "last_seen_at", "conversation_id"),  # the texter's number (bot/channels/sms_store)
    ("sms_handled_message", "received_at", None),  # hashes of Twilio MessageSids already handled
    ("sms_outbox", "created_at", "conversation_id"),  # replies waiting for Twilio (bot/channels/sms_outbox)
)
# Messages Twilio still holds (bot/channels/twilio_erasure): not deleted here but detached from
# their conversation, which makes them the Twilio eraser's to delete at Twilio.
TWILIO_MESSAGES = ("sms_twilio_message", "created_at", "conversation_id")
DEFAULT_TWILIO_ERASE_DELAY_S = 60.0  # Twilio: wait at least a minute before deleting a message
# Records that only point at a handoff: deleted with it, even when they are newer than the cut-off.
HANDOFF_RECORDS = (("alert", "handoff_id"), ("audit_log", "handoff_id"))


@dataclass
class PurgeReport:
    conversations: int = 0
    tracker_events: int = 0
    records: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"conversations deleted: {self.conversations} ({self.tracker_events} tracker events)"]
        out += [f"messages to delete at Twilio: {count}" if table == TWILIO_MESSAGES[0] else
                f"{table} rows deleted: {count}" for table, count in self.records.items()]
        return out


def cutoff_for(days: float, now: float | None = None) -> float:
    """Unix time before which data goes; 0 days means everything up to now."""
    if days < 0:
        raise ValueError("--older-than takes a number of days, 0 or more")
    return (now if now is not None else time.time()) - days * 86400


def purge(days: float, directory_engine: Engine | None = None, tracker_engine: Engine | None = None,
          now: float | None = None) -> PurgeReport:
    """Delete conversations idle for more than `days` days, and their records, from every store."""
    cutoff = cutoff_for(days, now)
    directory_engine = directory_engine or db.get_engine()
    tracker_engine = tracker_engine or db.engine_for(config.tracker_store_url())
    report = PurgeReport()

    expired: list[str] = []
    if sa.inspect(tracker_engine).has_table("events"):
        with tracker_engine.begin() as connection:
            _secure_delete_on(connection)
            expired = list(connection.execute(sa.text(
                "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) <= :cutoff"),
                {"cutoff": cutoff}).scalars())
            report.tracker_events = _delete_events(connection, expired)
        report.conversations = len(expired)
    report.records = _delete_records(directory_engine, expired, dt.datetime.utcfromtimestamp(cutoff))

    deleted_any = report.tracker_events > 0 or any(report.records.values())
    for engine in _distinct(tracker_engine, directory_engine):
        compact(engine, vacuum=deleted_any)  # VACUUM holds every writer up: only when it clears something
    return report


def erase_conversation(conversation_id: str, directory_engine: Engine | None = None,
                       tracker_engine: Engine | None = None) -> PurgeReport:
    """Delete one conversation now, with every record of it, from every store."""
    directory_engine = directory_engine or db.get_engine()
    tracker_engine = tracker_engine or db.engine_for(config.tracker_store_url())
    report = PurgeReport()
    if sa.inspect(tracker_engine).has_table("events"):
        with tracker_engine.begin() as connection:
            _secure_delete_on(connection)
            report.tracker_events = _delete_events(connection, [conversation_id])
    report.conversations = int(report.tracker_events > 0)
    report.records = _delete_records(directory_engine, [conversation_id])
    for engine in _distinct(tracker_engine, directory_engine):
        compact(engine, vacuum=False)
    return report


def retention_days() -> float | None:
    """Days a conversation is kept after its last message (`RETENTION_DAYS`, default 30), or None
    when it is "off". A conversation in progress is never purged: 0 or less is refused."""
    raw = os.environ.get("RETENTION_DAYS", "").strip().lower()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    if raw == "off":
        return None
    try:
        days = float(raw)
    except ValueError:
        days = float("nan")
    if not days > 0 or days == float("inf"):
        raise SystemExit(f'RETENTION_DAYS must be a number of days above 0, or "off"; not {raw!r}')
    return days


class DailyPurge(threading.Thread):
    """Purges what is older than `days` now and every `interval_s` seconds after, in the
    background, until stopped. A failed purge (a database down) is reported and tried again at
    the next interval; it never stops the navigator. It prints counts only, never content."""

    def __init__(self, days: float, interval_s: float = RETENTION_INTERVAL_S,
                 purge_once=None, out=sys.stderr) -> None:
        super().__init__(name="navigator-daily-purge", daemon=True)
        self.days, self.interval_s, self.out = days, interval_s, out
        self.purge_once = purge_once or (lambda: purge(days))
        self.stopped = threading.Event()
        self.runs = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                report = self.purge_once()
                print(f"navigator serve: retention ({self.days:g} days): conversations deleted: "
                      f"{report.conversations}", file=self.out, flush=True)
            except Exception as error:  # noqa: BLE001 - reported, retried at the next interval
                print(f"navigator serve: retention: the purge failed ({type(error).__name__}); it runs again "
                      f"in {self.interval_s / 3600:g} h", file=self.out, flush=True)
            self.runs += 1
            self.stopped.wait(self.interval_s)

    def stop(self) -> None:
        self.stopped.set()


def _delete_events(connection, conversation_ids: list[str]) -> int:
    """Delete the tracker events of these conversations; answers how many went."""
    deleted = 0
    for chunk in _chunks(conversation_ids):
        deleted += connection.execute(
            sa.text("DELETE FROM events WHERE sender_id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)), {"ids": chunk}).rowcount
    return deleted


def _delete_records(engine: Engine, conversation_ids: list[str],
                    older_than: dt.datetime | None = None) -> dict[str, int]:
    """Delete the records of these conversations from DATABASE_URL (and, given `older_than`,
    every record from before it), then what pointed only at a deleted handoff; counts per table."""
    counts: dict[str, int] = {}
    inspector = sa.inspect(engine)
    with engine.begin() as connection:
        _secure_delete_on(connection)
        if inspector.has_table(TWILIO_MESSAGES[0]):
            counts[TWILIO_MESSAGES[0]] = _hand_to_twilio_eraser(connection, conversation_ids, older_than)
        for table, time_column, id_column in CONVERSATION_RECORDS:
            if not inspector.has_table(table):
                continue
            deleted = 0
            if older_than is not None:
                deleted += connection.execute(sa.text(
                    f"DELETE FROM {table} WHERE {time_column} <= :cutoff"), {"cutoff": older_than}).rowcount
            for chunk in _chunks(conversation_ids) if id_column else ():
                deleted += connection.execute(
                    sa.text(f"DELETE FROM {table} WHERE {id_column} IN :ids").bindparams(
                        sa.bindparam("ids", expanding=True)), {"ids": chunk}).rowcount
            counts[table] = deleted
        if inspector.has_table("handoff"):
            for table, column in HANDOFF_RECORDS:
                if inspector.has_table(table):
                    counts[table] = counts.get(table, 0) + connection.execute(sa.text(
                        f"DELETE FROM {table} WHERE {column} IS NOT NULL AND {column} NOT IN (SELECT id FROM handoff)"
                    )).rowcount
    return counts


def _hand_to_twilio_eraser(connection, conversation_ids: list[str], older_than: dt.datetime | None) -> int:
    """Detach the Twilio messages of these conversations (and, given `older_than`, every one from
    before it) so that the eraser deletes them at Twilio; answers how many."""
    table, time_column, id_column = TWILIO_MESSAGES
    now = dt.datetime.utcnow()
    due = now + dt.timedelta(seconds=_twilio_erase_delay_s())
    values = {"now": now, "due": due}
    handed = 0
    assign = f"UPDATE {table} SET {id_column} = NULL, erase_requested_at = :now, erase_after = :due"
    if older_than is not None:
        handed += connection.execute(sa.text(f"{assign} WHERE {id_column} IS NOT NULL AND {time_column} <= :cutoff"),
                                     {**values, "cutoff": older_than}).rowcount
    for chunk in _chunks(conversation_ids):
        handed += connection.execute(sa.text(f"{assign} WHERE {id_column} IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)), {**values, "ids": chunk}).rowcount
    return handed


def _twilio_erase_delay_s() -> float:
    try:
        return max(float(os.environ.get("TWILIO_ERASE_DELAY_S") or DEFAULT_TWILIO_ERASE_DELAY_S), 0.0)
    except ValueError:
        return DEFAULT_TWILIO_ERASE_DELAY_S


def _distinct(*engines: Engine) -> list[Engine]:
    return list({id(engine): engine for engine in engines}.values())


def compact(engine: Engine, vacuum: bool = True) -> None:
    """Rewrite SQLite files so deleted text is in no page of the database or its log: with
    secure_delete on, deleted rows are zeros already, and a truncated log holds no old copy."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if vacuum:
            connection.execute(sa.text("VACUUM"))
        connection.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))


def _secure_delete_on(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(sa.text("PRAGMA secure_delete=ON"))


def _chunks(items: list[str], size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def register(subparsers: argparse._SubParsersAction) -> None:
    purge_parser = subparsers.add_parser(
        "purge", help="delete conversations, handoffs and alerts older than DAYS (0: all), from every store")
    purge_parser.add_argument("--older-than", type=float, required=True, metavar="DAYS",
                              help="days since a conversation's last message (0 deletes everything)")
    purge_parser.set_defaults(handler=purge_command)


def purge_command(args: argparse.Namespace) -> int:
    try:
        cutoff_for(args.older_than)
    except ValueError as error:
        raise SystemExit(f"navigator purge: {error}") from None
    db.create_schema()
    report = purge(args.older_than)
    for line in report.lines():
        print(line)
    return 0
