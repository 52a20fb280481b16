"""Retention and real deletion of what survivors said (CONTRACT.md: `navigator purge`).

Conversations live in Rasa's tracker store (`TRACKER_STORE_URL`, table `events`); what points at
them (handoffs, the audit trail, alerts, idempotency records of the channels) lives in
`DATABASE_URL`. Which tables those are, and how each row goes, is declared beside each table by
its owner (infra.retention: the Twilio messages, say, are handed to their eraser, not deleted);
the purge and the erase apply the declared rules, and refuse to run in a process that has not
loaded every owner (navigator.schema, which every process entry imports).

Retention is per message, not per conversation: a purge deletes every tracker event older than
the cut-off, also in a conversation that goes on (an SMS conversation id is stable per phone
number, so a texter who writes every few weeks would otherwise keep their whole history for
ever), and every per-conversation record older than it (closed handoffs, outbox rows, alerts,
audit entries...); a conversation with nothing left loses every record of it. The texts at
Twilio of what goes are handed to the Twilio eraser (bot/channels/sms/erasure).

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

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infra import config, db, retention
from infra.rekey import scan
from infra.retention import Checkpoint, RetentionRule, compact
from infra.retention import chunks as _chunks
from infra.retention import secure_delete_on as _secure_delete_on

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30.0
RETENTION_INTERVAL_S = 24 * 3600

# Which tables hold conversation data, and how their rows go, is declared beside each table by its
# owner (infra.retention.declare); this module applies the declared rules, naming no table.


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
        out += [f"{_report_as(table)}: {count}" for table, count in self.records.items()]
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


def _report_as(table: str) -> str:
    rule = retention.rule_for(table)
    return rule.report_as if rule is not None and rule.report_as else f"{table} rows deleted"


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
    retention.require_complete()  # every table's rule, or a purge would leave some data behind
    cutoff = cutoff_for(days, now)
    directory_engine = directory_engine or db.get_engine()
    tracker_engine = tracker_engine or db.engine_for(config.tracker_store_url())
    report = PurgeReport()
    keep_unclosed = days > 0  # 0 is "all" (CONTRACT.md)
    kept_whole = _unclosed_handoff_conversations(directory_engine) if keep_unclosed else set()

    expired: list[str] = []
    trimmed: list[str] = []
    tracker = sa.inspect(tracker_engine)
    for rule in retention.rules(retention.TRACKER):
        if not tracker.has_table(rule.name):
            continue
        sender, timestamp = rule.conversation_column, rule.time_column
        with tracker_engine.begin() as connection:
            _secure_delete_on(connection)
            old = []
            for sender_id, newest in connection.execute(sa.select(sender, sa.func.max(timestamp))
                                                        .group_by(sender).having(sa.func.min(timestamp) <= cutoff)):
                if sender_id in kept_whole:
                    report.kept_for_handoff += 1
                else:
                    old.append(sender_id)
                    (expired if newest <= cutoff else trimmed).append(sender_id)
            # Only events up to the cut-off, also for `expired`: a message arriving meanwhile stays.
            report.tracker_events += _delete_events(connection, rule, old, up_to=cutoff)
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


def _holders(inspector) -> list[RetentionRule]:
    """The rules of tables whose open rows keep their conversation whole (the handoff queue), existing here."""
    return [rule for rule in retention.rules() if rule.open_when is not None and inspector.has_table(rule.name)]


def _one_select(selects: list):
    """The SELECTs as one: itself when there is one, else their UNION."""
    return selects[0] if len(selects) == 1 else sa.union(*selects)


def _kept_conversations(holders: list[RetentionRule]):
    """A SELECT of the conversations a purge of a number of days leaves whole (a handoff not closed)."""
    return _one_select([sa.select(rule.conversation_column).where(rule.open_when) for rule in holders])


def _open_ids(holders: list[RetentionRule]):
    """A SELECT of the ids of the open rows (handoffs not closed) that records may point at."""
    return _one_select([sa.select(*rule.table.primary_key.columns).where(rule.open_when) for rule in holders])


def _all_ids(holders: list[RetentionRule]):
    """A SELECT of the ids of every row records may point at (an id not in it: a deleted handoff)."""
    return _one_select([sa.select(*rule.table.primary_key.columns) for rule in holders])


def _unclosed_handoff_conversations(engine: Engine) -> set[str]:
    holders = _holders(sa.inspect(engine))
    if not holders:
        return set()
    with engine.connect() as connection:
        return set(connection.execute(_kept_conversations(holders)).scalars())


def erase_conversation(conversation_id: str, directory_engine: Engine | None = None,
                       tracker_engine: Engine | None = None) -> PurgeReport:
    """Delete one conversation now, with every record of it, from every store."""
    retention.require_complete()  # every table's rule, or the erase would leave some of it behind
    directory_engine = directory_engine or db.get_engine()
    tracker_engine = tracker_engine or db.engine_for(config.tracker_store_url())
    report = PurgeReport()
    tracker = sa.inspect(tracker_engine)
    for rule in retention.rules(retention.TRACKER):
        if tracker.has_table(rule.name):
            with tracker_engine.begin() as connection:
                _secure_delete_on(connection)
                report.tracker_events += _delete_events(connection, rule, [conversation_id])
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


def _delete_events(connection, rule: RetentionRule, conversation_ids: list[str], up_to: float | None = None) -> int:
    """Delete the tracker events of these conversations (only those up to `up_to`, a Unix time,
    when given); answers how many went."""
    deleted = 0
    for chunk in _chunks(conversation_ids):
        condition = [rule.conversation_column.in_(chunk)]
        if up_to is not None:
            condition.append(rule.time_column <= up_to)
        deleted += connection.execute(sa.delete(rule.table).where(*condition)).rowcount
    return deleted


def _delete_records(engine: Engine, conversation_ids: list[str], older_than: dt.datetime | None = None,
                    keep_unclosed: bool = False) -> dict[str, int]:
    """Delete the records of these conversations from DATABASE_URL (and, given `older_than`,
    every record from before it), then what pointed only at a deleted handoff; counts per table.
    With `keep_unclosed`, nothing of a conversation whose handoff is not closed goes (checked in
    this transaction: a handoff opened since the tracker was read is kept too). Rows a rule hands
    on (the Twilio messages, to their eraser) are handed on, not deleted."""
    counts: dict[str, int] = {}
    inspector = sa.inspect(engine)
    present = [rule for rule in retention.rules() if inspector.has_table(rule.name)]  # a table not there yet: skipped
    holders = _holders(inspector)
    keep = keep_unclosed and bool(holders)
    with engine.begin() as connection:
        _secure_delete_on(connection)
        for rule in present:
            if rule.handler is not None:
                counts[rule.name] = rule.handler(connection, conversation_ids, older_than,
                                                 _kept_conversations(holders) if keep else None)
                continue
            kept = []
            if keep and rule.conversation_column is not None:
                kept = [rule.conversation_column.notin_(_kept_conversations(holders))]
            elif keep and rule.handoff_column is not None:  # an alert or audit entry of an unclosed handoff
                kept = [sa.or_(rule.handoff_column.is_(None), rule.handoff_column.notin_(_open_ids(holders)))]
            deleted = 0
            if older_than is not None:
                deleted += connection.execute(
                    sa.delete(rule.table).where(rule.time_column <= older_than, *kept)).rowcount
            for chunk in _chunks(conversation_ids) if rule.conversation_column is not None else ():
                deleted += connection.execute(sa.delete(rule.table).where(
                    rule.conversation_column.in_(chunk), *kept)).rowcount
            counts[rule.name] = deleted
        if holders:
            for rule in present:
                if rule.handoff_column is not None and rule.handler is None:
                    counts[rule.name] = counts.get(rule.name, 0) + connection.execute(sa.delete(rule.table).where(
                        rule.handoff_column.isnot(None), rule.handoff_column.notin_(_all_ids(holders)))).rowcount
    return counts


def _distinct(*engines: Engine) -> list[Engine]:
    return list({id(engine): engine for engine in engines}.values())


def register(subparsers: argparse._SubParsersAction) -> None:
    purge_parser = subparsers.add_parser(
        "purge", help="delete messages, handoffs and alerts older than DAYS (0: all), from every store; "
                      "a conversation whose handoff is not closed is kept whole")
    purge_parser.add_argument("--older-than", type=float, required=True, metavar="DAYS",
                              help="days since a message was said (0 deletes everything)")
    purge_parser.set_defaults(handler=purge_command, needs_schema=True)


def purge_command(args: argparse.Namespace) -> int:
    try:
        cutoff_for(args.older_than)
    except ValueError as error:
        raise SystemExit(f"navigator purge: {error}") from None
    report = purge(args.older_than)
    for line in report.lines():
        print(line)
    return 0
