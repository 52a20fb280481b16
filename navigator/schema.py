"""The navigator's whole schema, as an operation: every table's owner loaded, every table created,
an older database brought up to this version, and every table's retention rule known.

Why here, in the top layer: the tables belong to modules of every layer (the directory, the handoff
queue, the SMS line, the console's accounts, Rasa's tracker store), and only the top may import
them all. infra.db keeps the shared `Base`, engines and sessions and imports nothing above it.

Importing this module is what makes a process complete for retention: after every owner is
imported, `infra.retention.mark_complete` checks that each table has a rule or an exemption (a
new table without one stops the import here), and from then on the purge and a survivor's erase
may run (they refuse before). So every process entry imports it: navigator/cli.py,
navigator/serve.py, navigator/rasa_server.py, navigator/action_server.py and
navigator/console_server.py (the console's entry under `navigator serve`).
"""
from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

import bot.channels.sms.erasure  # noqa: F401  (every module that owns a table, or a retention rule)
import bot.channels.sms.outbox  # noqa: F401
import bot.channels.sms.store
import bot.channels.webchat.sessions  # noqa: F401
import bot.stores  # noqa: F401  (the tracker store's events: Rasa's table, its rule)
import console.accounts  # noqa: F401
import console.audit  # noqa: F401
import console.sessions  # noqa: F401
import console.tokens  # noqa: F401
import conversations.alerts  # noqa: F401
import conversations.flood_budget  # noqa: F401
import conversations.handoffs  # noqa: F401
import navigator.rekey
import resources.models  # noqa: F401
import resources.search.index  # noqa: F401  (its after_create listener upgrades the search index)
from infra import retention
from infra.db import Base, get_engine

retention.mark_complete(Base.metadata)


def create_schema(engine: Engine | None = None) -> None:
    """Create every table the navigator needs (idempotent), upgrade an older database: the
    columns it lacks, its plain phone numbers sealed, rows sealed under a previous secret
    re-sealed; the search index is brought up to date as the tables are created."""
    engine = engine or get_engine()
    Base.metadata.create_all(engine)
    add_missing_columns(engine)
    bot.channels.sms.store.seal_plain_numbers(engine)  # an older database's plain phone numbers
    navigator.rekey.rekey_at_start_up(engine)  # rows sealed under NAVIGATOR_SECRET_KEY_PREVIOUS


def add_missing_columns(engine: Engine) -> None:
    """Add the nullable columns a newer version declares to tables an older version created
    (create_all never alters a table), so an agency's existing database keeps working."""
    inspector = inspect(engine)
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                continue
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    kind = column.type.compile(dialect=engine.dialect)
                    connection.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
