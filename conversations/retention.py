"""Retention and real deletion of what survivors said (CONTRACT.md: `navigator purge`).

Conversations live in Rasa's tracker store (`TRACKER_STORE_URL`, table `events`); what points at
them (handoffs, the audit trail, alerts, idempotency records of the channels) lives in
`DATABASE_URL`. Retention is per message, not per conversation: a purge deletes every tracker
event older than the cut-off, also in a conversation that goes on (an SMS conversation id is
stable per phone number, so a texter who writes every few weeks would otherwise keep their whole
history for ever), and every per-conversation record older than it (closed handoffs, outbox
rows, alerts, audit entries...); a conversation with nothing left loses every record of it. The
texts at Twilio of what goes are handed to the Twilio eraser (bot/channels/sms/erasure).

What a trimmed conversation keeps is coherent for Rasa: its SQL tracker store loads a
conversation from its latest `session_started` on, and a session expires after 60 idle minutes
with no slot carried over (domain.yml), so in practice what is cut is whole earlier sessions. When
the cut falls inside the current session (a cut-off of minutes, or advocates' messages appended
to a session begun before it), the rest is loaded as one session whose slots are back at their
initial values: what a new session would start from. Rasa then answers the next message as usual
(tests/security/test_finding_07_retention_per_message.py runs a turn on such a tracker). Nothing
older than the cut-off is kept to keep a session "whole": session starts and slot events carry
survivors' words too (a place, a language, a danger type).

A conversation whose handoff is not closed (open, claimed or handed back) is never touched by a
purge of a number of days, however old: its events, its handoff and its records stay until an
advocate closes it (an emergency must not vanish from the queue or from under the advocate
reading it; the bot must stay paused while an advocate holds it). The purge says how many it kept
so. Two deletions do take those too, as asked: `navigator purge --older-than 0`, which CONTRACT.md
defines as "all" (an operator wiping every store), and `erase_conversation` (the survivor's own
DELETE).

While the navigator runs (`navigator serve`), `DailyPurge` applies the default retention:
what is older than `RETENTION_DAYS` days (default 30; "off" keeps everything until an operator
purges) is purged at start-up and then once a day, so nobody has to remember a cron job.

`erase_conversation` deletes one conversation and every record of it the same way, at once: a
texter's DELETE on the SMS line (bot/channels/sms/webhook.py).

Deleting a row is not enough: SQLite keeps deleted text in free pages and in its write-ahead log.
So both turn on `secure_delete` (deleted content overwritten with zeros) and truncate the log,
checking that the log was truncated: a checkpoint that another connection holds up is retried a
few times and then reported (a WARNING and a line of the purge's report), never ignored;
the purge also vacuums (a one-conversation erase does not: VACUUM rewrites the whole file and
would hold up every conversation's writes meanwhile). PostgreSQL keeps dead tuples until VACUUM
reclaims them; the README says what an operator must schedule there.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra import config, db

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30.0
RETENTION_INTERVAL_S = 24 * 3600

# Tables of DATABASE_URL that hold per-conversation records: (table, time column (or SQL
# expression), conversation id column or None). A table that does not exist (yet) is skipped.
CONVERSATION_RECORDS = (
    ("handoff", "COALESCE(closed_at, created_at)", "conversation_id"),  # an unclosed one: see keep_unclosed
    ("alert", "created_at", None),
    ("alert_summary", "created_at", None),  # counts of batched alerts only (conversations.alerts)
    ("audit_log", "at", None),
    ("sms_contact", "last_seen_at", "conversation_id"),  # the texter's number (bot/channels/sms/store)
    ("sms_handled_message", "received_at", None),  # hashes of Twilio MessageSids already handled
    ("sms_outbox", "created_at", "conversation_id"),  # replies waiting for Twilio (bot/channels/sms/outbox)
    ("webchat_session", "last_seen_at", "conversation_id"),  # resume-secret hashes (bot/channels/webchat/sessions)
)
# Messages Twilio still holds (bot/channels/sms/erasure): not deleted here but detached from
# their conversation, which makes them the Twilio eraser's to delete at Twilio.
TWILIO_MESSAGES = ("sms_twilio_message", "created_at", "conversation_id")
DEFAULT_TWILIO_ERASE_DELAY_S = 60.0  # Twilio: wait at least a minute before deleting a message
# Records that only point at a handoff: deleted with it, even when they are newer than the cut-off.
HANDOFF_RECORDS = (("alert", "handoff_id"), ("audit_log", "handoff_id"))
# Conversations a purge leaves whole: a handoff of theirs is not closed.
UNCLOSED_HANDOFFS = "SELECT conversation_id FROM handoff WHERE status <> 'closed'"
UNCLOSED_HANDOFF_IDS = "SELECT id FROM handoff WHERE status <> 'closed'"

CHECKPOINT_ATTEMPTS = 5
CHECKPOINT_PAUSE_S = 0.2
CHECKPOINT_BUSY_TIMEOUT_MS = 500  # per attempt (the engines' own 5 s would hold a purge up for long)


@dataclass
class Checkpoint:
    """What `PRAGMA wal_checkpoint(TRUNCATE)` answered on a SQLite file's last attempt."""
    database: str  # the file's name, no path
    busy: bool  # another connection held the log: it was not truncated
    log_frames: int
    checkpointed_frames: int
    attempts: int


@dataclass
class PurgeReport:
    conversations: int = 0  # deleted whole
    tracker_events: int = 0
    conversations_trimmed: int = 0  # going on, their messages older than the cut-off deleted
    kept_for_handoff: int = 0  # left whole: a handoff not yet closed
    records: dict[str, int] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    unopenable: dict[str, int] = field(default_factory=dict)  # sealed rows no secret opens (kept)

    def lines(self) -> list[str]:
        out = [f"conversations deleted: {self.conversations} ({self.tracker_events} tracker events)",
               f"conversations going on, older messages deleted: {self.conversations_trimmed}"]
        out += [f"messages to delete at Twilio: {count}" if table == TWILIO_MESSAGES[0] else
                f"{table} rows deleted: {count}" for table, count in self.records.items()]
        return out + self.warnings()

    def warnings(self) -> list[str]:
        """What an operator must look at: what was kept, and deleted text that may remain."""
        out = []
        if self.kept_for_handoff:
            out.append(f"conversations kept whole, their handoff not closed: {self.kept_for_handoff} "
                       "(closed in the console, they go with the next purge)")
        out += [f"{c.database}: write-ahead log NOT truncated after {c.attempts} tries (another connection holds "
                f"it; {c.log_frames} frames, {c.checkpointed_frames} copied): deleted text may stay in "
                f"{c.database}-wal until its next checkpoint" for c in self.checkpoints if c.busy]
        out += [f"{table}: {count} sealed rows that no secret opens, kept (NAVIGATOR_SECRET_KEY_PREVIOUS, "
                "`navigator rekey`)" for table, count in self.unopenable.items() if count]
        return out


def cutoff_for(days: float, now: float | None = None) -> float:
    """Unix time before which data goes; 0 days means everything up to now."""
    if days < 0:
        raise ValueError("--older-than takes a number of days, 0 or more")
    return (now if now is not None else time.time()) - days * 86400


def purge(days: float, directory_engine: Engine | None = None, tracker_engine: Engine | None = None,
          now: float | None = None) -> PurgeReport:
    """Delete every message older than `days` days, with the records older than that, from every
    store; a conversation left empty goes with every record of it. Conversations whose handoff is
    not closed are left whole, but by a purge of 0 days (everything)."""
    from navigator.rekey import scan

    cutoff = cutoff_for(days, now)
    directory_engine = directory_engine or db.get_engine()
    tracker_engine = tracker_engine or db.engine_for(config.tracker_store_url())
    report = PurgeReport()
    keep_unclosed = days > 0  # 0 is "all" (CONTRACT.md)
    kept_whole = _unclosed_handoff_conversations(directory_engine) if keep_unclosed else set()

    expired: list[str] = []
    if sa.inspect(tracker_engine).has_table("events"):
        trimmed: list[str] = []
        with tracker_engine.begin() as connection:
            _secure_delete_on(connection)
            for sender_id, newest in connection.execute(sa.text(
                    "SELECT sender_id, MAX(timestamp) FROM events GROUP BY sender_id "
                    "HAVING MIN(timestamp) <= :cutoff"), {"cutoff": cutoff}):
                if sender_id in kept_whole:
                    report.kept_for_handoff += 1
                else:
                    (expired if newest <= cutoff else trimmed).append(sender_id)
            # Only events up to the cut-off, also for `expired`: a message arriving meanwhile stays.
            report.tracker_events = _delete_events(connection, expired + trimmed, up_to=cutoff)
        report.conversations, report.conversations_trimmed = len(expired), len(trimmed)
    report.records = _delete_records(directory_engine, expired, dt.datetime.utcfromtimestamp(cutoff),
                                     keep_unclosed=keep_unclosed)

    deleted_any = report.tracker_events > 0 or any(report.records.values())
    for engine in _distinct(tracker_engine, directory_engine):
        checkpoint = compact(engine, vacuum=deleted_any)  # VACUUM holds every writer up: only when it clears something
        if checkpoint is not None:
            report.checkpoints.append(checkpoint)
    try:
        report.unopenable = scan(directory_engine).unreadable
    except Exception as error:  # noqa: BLE001 - the deletion is done; a missing secret must not hide it
        logger.error("could not check the sealed records after the purge: %s", type(error).__name__)
    return report


def _unclosed_handoff_conversations(engine: Engine) -> set[str]:
    if not sa.inspect(engine).has_table("handoff"):
        return set()
    with engine.connect() as connection:
        return set(connection.execute(sa.text(UNCLOSED_HANDOFFS)).scalars())


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
        checkpoint = compact(engine, vacuum=False)
        if checkpoint is not None:
            report.checkpoints.append(checkpoint)
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
                      f"{report.conversations}, going on with older messages deleted: "
                      f"{report.conversations_trimmed}", file=self.out, flush=True)
                for line in report.warnings():
                    print(f"navigator serve: retention: {line}", file=self.out, flush=True)
            except Exception as error:  # noqa: BLE001 - reported, retried at the next interval
                print(f"navigator serve: retention: the purge failed ({type(error).__name__}); it runs again "
                      f"in {self.interval_s / 3600:g} h", file=self.out, flush=True)
            self.runs += 1
            self.stopped.wait(self.interval_s)

    def stop(self) -> None:
        self.stopped.set()


def _delete_events(connection, conversation_ids: list[str], up_to: float | None = None) -> int:
    """Delete the tracker events of these conversations (only those up to `up_to`, a Unix time,
    when given); answers how many went."""
    deleted = 0
    when = "" if up_to is None else " AND timestamp <= :cutoff"
    for chunk in _chunks(conversation_ids):
        deleted += connection.execute(
            sa.text(f"DELETE FROM events WHERE sender_id IN :ids{when}").bindparams(
                sa.bindparam("ids", expanding=True)), {"ids": chunk, "cutoff": up_to}).rowcount
    return deleted


def _delete_records(engine: Engine, conversation_ids: list[str], older_than: dt.datetime | None = None,
                    keep_unclosed: bool = False) -> dict[str, int]:
    """Delete the records of these conversations from DATABASE_URL (and, given `older_than`,
    every record from before it), then what pointed only at a deleted handoff; counts per table.
    With `keep_unclosed`, nothing of a conversation whose handoff is not closed goes (checked in
    this transaction: a handoff opened since the tracker was read is kept too)."""
    counts: dict[str, int] = {}
    inspector = sa.inspect(engine)
    keep = keep_unclosed and inspector.has_table("handoff")
    with engine.begin() as connection:
        _secure_delete_on(connection)
        if inspector.has_table(TWILIO_MESSAGES[0]):
            counts[TWILIO_MESSAGES[0]] = _hand_to_twilio_eraser(connection, conversation_ids, older_than, keep)
        for table, time_column, id_column in CONVERSATION_RECORDS:
            if not inspector.has_table(table):
                continue
            deleted = 0
            kept = ""
            if keep and id_column:
                kept = f" AND {id_column} NOT IN ({UNCLOSED_HANDOFFS})"
            elif keep and table in dict(HANDOFF_RECORDS):  # an alert or audit entry of an unclosed handoff
                handoff_column = dict(HANDOFF_RECORDS)[table]
                kept = f" AND ({handoff_column} IS NULL OR {handoff_column} NOT IN ({UNCLOSED_HANDOFF_IDS}))"
            if older_than is not None:
                deleted += connection.execute(sa.text(
                    f"DELETE FROM {table} WHERE {time_column} <= :cutoff{kept}"), {"cutoff": older_than}).rowcount
            for chunk in _chunks(conversation_ids) if id_column else ():
                deleted += connection.execute(
                    sa.text(f"DELETE FROM {table} WHERE {id_column} IN :ids{kept}").bindparams(
                        sa.bindparam("ids", expanding=True)), {"ids": chunk}).rowcount
            counts[table] = deleted
        if inspector.has_table("handoff"):
            for table, column in HANDOFF_RECORDS:
                if inspector.has_table(table):
                    counts[table] = counts.get(table, 0) + connection.execute(sa.text(
                        f"DELETE FROM {table} WHERE {column} IS NOT NULL AND {column} NOT IN (SELECT id FROM handoff)"
                    )).rowcount
    return counts


def _hand_to_twilio_eraser(connection, conversation_ids: list[str], older_than: dt.datetime | None,
                           keep_unclosed: bool = False) -> int:
    """Detach the Twilio messages of these conversations (and, given `older_than`, every one from
    before it, but those of conversations whose handoff is not closed with `keep_unclosed`) so
    that the eraser deletes them at Twilio; answers how many."""
    table, time_column, id_column = TWILIO_MESSAGES
    now = dt.datetime.utcnow()
    due = now + dt.timedelta(seconds=_twilio_erase_delay_s())
    values = {"now": now, "due": due}
    handed = 0
    assign = f"UPDATE {table} SET {id_column} = NULL, erase_requested_at = :now, erase_after = :due"
    if older_than is not None:
        kept = f" AND {id_column} NOT IN ({UNCLOSED_HANDOFFS})" if keep_unclosed else ""
        handed += connection.execute(sa.text(
            f"{assign} WHERE {id_column} IS NOT NULL AND {time_column} <= :cutoff{kept}"),
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


def compact(engine: Engine, vacuum: bool = True, attempts: int = CHECKPOINT_ATTEMPTS,
            pause_s: float = CHECKPOINT_PAUSE_S) -> Optional[Checkpoint]:
    """Rewrite SQLite files so deleted text is in no page of the database or its log: with
    secure_delete on, deleted rows are zeros already, and a truncated log holds no old copy.
    The checkpoint answers (busy, log frames, checkpointed frames); busy means another connection
    (a reader in a transaction) kept the log from being truncated, so it is tried `attempts`
    times, then logged as a WARNING and answered busy for the report. None: not SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    name = Path(engine.url.database or "").name or "(memory)"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if vacuum:
            connection.execute(sa.text("VACUUM"))
        busy_timeout = connection.execute(sa.text("PRAGMA busy_timeout")).scalar()
        connection.execute(sa.text(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}"))
        try:
            for attempt in range(1, attempts + 1):
                busy, log_frames, checkpointed = connection.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
                result = Checkpoint(name, bool(busy), log_frames, checkpointed, attempt)
                if not result.busy:
                    return result
                if attempt < attempts:
                    time.sleep(pause_s)
        finally:
            connection.execute(sa.text(f"PRAGMA busy_timeout={int(busy_timeout or 0)}"))
    logger.warning("%s: the write-ahead log was not truncated after %d tries (another connection holds it; "
                   "%d frames, %d copied): deleted text may stay in it until the next checkpoint",
                   name, attempts, result.log_frames, result.checkpointed_frames)
    return result


def _secure_delete_on(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.execute(sa.text("PRAGMA secure_delete=ON"))


def _chunks(items: list[str], size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def register(subparsers: argparse._SubParsersAction) -> None:
    purge_parser = subparsers.add_parser(
        "purge", help="delete messages, handoffs and alerts older than DAYS (0: all), from every store; "
                      "a conversation whose handoff is not closed is kept whole")
    purge_parser.add_argument("--older-than", type=float, required=True, metavar="DAYS",
                              help="days since a message was said (0 deletes everything)")
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
