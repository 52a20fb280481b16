"""The navigator's one clock: naive UTC datetimes, as every table stores them.

Naive, because SQLite keeps no time zone and PostgreSQL's `timestamp without time zone` columns
compare naive values; UTC, so that two Rasa servers and the console agree. One function, so a test
that needs another time patches the module that reads it.
"""
from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
