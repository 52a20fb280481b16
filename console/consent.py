"""Whether the console may write to a survivor now, unprompted, read from their conversation.

An abuser may hold the phone: a text that arrives unasked (a notice, an advocate's first words)
can give a survivor away. A survivor who said "don't text me first" (the conversation's
`contact_first` slot is false, bot.actions.handoff.ActionNoFirstContact) gets nothing unprompted:
no "nobody is free yet" notice, no "an advocate joined" and no advocate's message, until they
write again after the advocate took the conversation. Everyone else may be written to.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

CONTACT_FIRST_SLOT = "contact_first"


def asked_not_to_be_written_first(tracker: dict) -> bool:
    return (tracker.get("slots") or {}).get(CONTACT_FIRST_SLOT) is False


def wrote_since(tracker: dict, moment: Optional[dt.datetime]) -> bool:
    """Whether the survivor sent a message after `moment` (naive UTC; None: ever)."""
    since = moment.replace(tzinfo=dt.timezone.utc).timestamp() if moment is not None else float("-inf")
    return any(event.get("event") == "user" and float(event.get("timestamp") or 0) > since
               for event in tracker.get("events") or [])


def may_write_unprompted(tracker: dict, since: Optional[dt.datetime]) -> bool:
    """True unless the survivor asked not to be written to first and has not written since `since`
    (the claim: their message to the advocate is the invitation)."""
    return not asked_not_to_be_written_first(tracker) or wrote_since(tracker, since)
