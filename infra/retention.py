"""Which rows of which table hold what survivors said, and when they go: each table's owner
declares it here, beside the table, so the purge (conversations.retention) never names another
module's table and a new table cannot be forgotten by it.

Why a registry in the bottom layer: the tables belong to modules of every layer (the SMS line's in
bot/, the console's audit trail, the handoff queue in conversations/, Rasa's tracker store), and
the purge, in conversations/, may import none of those above it. So each owner calls `declare`
with a `RetentionRule` made from its own table object (its columns, not SQL strings), or
`exempt` for a table that holds no conversation data (the directory, advocates' accounts), and
the purge iterates what was declared.

Completeness: a rule the process never imported is a table the purge would silently skip, and a
survivor's DELETE that leaves their number behind. So the purge asks `require_complete()`, which
refuses (raises `RetentionIncomplete`) until `mark_complete()` was called, and `mark_complete`
itself refuses while a table of the schema has neither a rule nor an exemption. navigator.schema
calls it after importing every table's owner; each process entry imports navigator.schema.

`compact` is here too: rewriting a SQLite file so that deleted text is in no page of it or of its
write-ahead log is engine-level work, which the SMS store's own migration needs as well.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

DIRECTORY = "directory"  # DATABASE_URL: the navigator's own tables (infra.db.Base)
TRACKER = "tracker"  # TRACKER_STORE_URL: Rasa's tracker store; its times are Unix seconds, not datetimes

CHECKPOINT_ATTEMPTS = 5
CHECKPOINT_PAUSE_S = 0.2
CHECKPOINT_BUSY_TIMEOUT_MS = 500  # per attempt (the engines' own 5 s would hold a purge up for long)


class RetentionIncomplete(RuntimeError):
    """The process has not loaded every table's rule: a purge or an erase now would leave data."""


# A handler for rows that are not deleted but handed on (the Twilio messages, to the eraser):
# handler(connection, conversation_ids, older_than, kept_conversations) -> rows handed on, where
# `older_than` (a datetime, or None) also takes every row from before it, and `kept_conversations`
# (a SELECT of conversation ids, or None) are conversations a purge must leave whole.
Handler = Callable[[Any, list, Any, Any], int]


@dataclass(frozen=True)
class RetentionRule:
    """How the rows of one table go.

    `time_column`: when a row was last said or used (a column or an expression of the table's
    columns); a purge takes the rows up to its cut-off. `conversation_column`: the conversation a
    row belongs to; it goes with its conversation (an erase, or a purge that empties it).
    `handoff_column`: the handoff a row points at; it goes with its handoff, and a purge of a
    number of days keeps it while that handoff is not closed. `open_when`: on the handoff table,
    which rows are not closed; their conversations are kept whole by such a purge. `handler`:
    rows that are handed on instead of deleted. `report_as`: what the purge's report calls its
    count (default "<table> rows deleted"). `store`: DIRECTORY or TRACKER.
    """
    table: sa.Table
    time_column: Any
    conversation_column: Optional[sa.Column] = None
    handoff_column: Optional[sa.Column] = None
    open_when: Any = None
    handler: Optional[Handler] = None
    report_as: str = ""
    store: str = DIRECTORY

    @property
    def name(self) -> str:
        return self.table.name


_rules: dict[tuple[str, str], RetentionRule] = {}
_exempt: dict[str, str] = {}  # table name: why it holds no conversation data
_complete = False


def declare(rule: RetentionRule) -> RetentionRule:
    """Register a table's rule (once per table and store; declaring the same table again replaces it)."""
    _rules[(rule.store, rule.name)] = rule
    return rule


def exempt(*tables: sa.Table, why: str) -> None:
    """Say that these tables hold no conversation data, so no purge or erase touches them."""
    for table in tables:
        _exempt[table.name] = why


def rules(store: str = DIRECTORY) -> list[RetentionRule]:
    """The declared rules of `store`, in the order the purge applies them: rows handed on first,
    then tables in foreign-key order, parents first (a handoff before the alerts its deletion
    cascades to), then by name."""
    found = [rule for (where, _), rule in _rules.items() if where == store]
    order = {table.name: index for index, table in enumerate(_sorted_tables(found))}
    return sorted(found, key=lambda rule: (rule.handler is None, order.get(rule.name, len(order)), rule.name))


def _sorted_tables(found: list[RetentionRule]) -> list[sa.Table]:
    metadatas = {id(rule.table.metadata): rule.table.metadata for rule in found}
    return [table for metadata in metadatas.values() for table in metadata.sorted_tables]


def rule_for(table: str, store: str = DIRECTORY) -> Optional[RetentionRule]:
    return _rules.get((store, table))


def chunks(items: list, size: int = 500):
    """`items` in slices small enough for one `IN (...)` of any database."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def exemptions() -> dict[str, str]:
    return dict(_exempt)


def undeclared(metadata: sa.MetaData) -> list[str]:
    """Tables of `metadata` with neither a rule nor an exemption."""
    declared = {name for (_, name) in _rules} | set(_exempt)
    return sorted(name for name in metadata.tables if name not in declared)


def mark_complete(metadata: sa.MetaData) -> None:
    """Every owner of a table of `metadata` is loaded: purges and erases may run. Refuses
    (RetentionIncomplete) while a table has neither a rule nor an exemption."""
    global _complete
    missing = undeclared(metadata)
    if missing:
        raise RetentionIncomplete("no retention rule (infra.retention.declare) or exemption for: " + ", ".join(missing))
    if not rules(TRACKER):
        raise RetentionIncomplete("no retention rule for the tracker store's events (bot.stores)")
    _complete = True


def is_complete() -> bool:
    return _complete


def require_complete() -> None:
    """Raise unless `mark_complete` was called in this process (import navigator.schema)."""
    if not _complete:
        raise RetentionIncomplete("this process has not loaded every table's retention rule: import navigator.schema "
                                  "(every process entry does) before purging or erasing a conversation")


# --- deleted text in no page of the file ---------------------------------------------------------------

@dataclass
class Checkpoint:
    """What `PRAGMA wal_checkpoint(TRUNCATE)` answered on a SQLite file's last attempt."""
    database: str  # the file's name, no path
    busy: bool  # another connection held the log: it was not truncated
    log_frames: int
    checkpointed_frames: int
    attempts: int


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


def secure_delete_on(connection) -> None:
    """Deleted rows are overwritten with zeros on this SQLite connection (no-op elsewhere)."""
    if connection.dialect.name == "sqlite":
        connection.execute(sa.text("PRAGMA secure_delete=ON"))
