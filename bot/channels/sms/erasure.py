"""Erasing a conversation at Twilio too: Twilio keeps every message it carried, body and number,
in the account's message log (400 days by default) until it is deleted through the API. A
survivor's DELETE, or a purge, that left those copies would not be a real deletion.

So the SMS line notes the MessageSid of every text a texter sent and every reply it sent them
(`sms_twilio_message`, the SID sealed like the number, keyed by conversation id). When the
conversation is erased or purged (conversations.retention), those rows lose their conversation id
and become a to-do list: `TwilioEraser`, a background task of the Rasa server, asks Twilio to
DELETE each message. Twilio refuses to delete a message it has not finished with (error 20009),
so the first request waits TWILIO_ERASE_DELAY_S (default 60, `erase_delay_s`) and refusals are retried with a
growing pause (to at most 6 hours) for up to 15 days (Twilio's own longest wait); 404 means
it is gone already. Once asked, Twilio deletes the record and its media for good.

A row whose SID no secret of this server opens (NAVIGATOR_SECRET_KEY changed without
NAVIGATOR_SECRET_KEY_PREVIOUS, infra.secret_key) is never forgotten: forgetting it would leave
the text at Twilio for its full retention with nobody knowing. It is kept, set aside for
UNREADABLE_RETRY at a time, logged as an ERROR with a count, and counted by `navigator purge`
and `navigator rekey`; once the previous secret is set again it is deleted at Twilio as usual.

An agency that wants nothing kept at Twilio even for a conversation's life can also turn on
Twilio's message redaction for the account (README, "Twilio").
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from typing import List, Optional, Text, Tuple

from sqlalchemy import Column, DateTime, Integer, String, delete, func, select, update
from sqlalchemy import Text as LongText
from sqlalchemy.engine import Engine

from bot.channels.due_work import DueWorkLoop
from bot.channels.sms.store import SEALING_KEY, UNREADABLE, seal, unseal
from infra import retention
from infra.clock import utcnow
from infra.db import Base, session_scope
from infra.twilio_client import TwilioNotConfigured, TwilioSettings, delete_message

logger = logging.getLogger(__name__)

TABLE = "sms_twilio_message"
MAX_RETRY_S = 6 * 3600.0
GIVE_UP_AFTER = dt.timedelta(days=15)
UNREADABLE_RETRY = dt.timedelta(hours=1)
BATCH = 50
DEFAULT_ERASE_DELAY_S = 60.0


class TwilioMessage(Base):
    """A message Twilio carried for a texter. `conversation_id` None: erased here, to delete at Twilio."""

    __tablename__ = TABLE

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(64), nullable=True, index=True)
    sid_sealed = Column(LongText, nullable=False, info={"sealed_with": SEALING_KEY})  # navigator.rekey
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    erase_after = Column(DateTime, nullable=True, index=True)  # when to ask Twilio (again)
    erase_requested_at = Column(DateTime, nullable=True)
    attempts = Column(Integer, nullable=False, default=0)


def hand_to_eraser(connection, conversation_ids: List[Text], older_than: Optional[dt.datetime],
                   kept_conversations=None) -> int:
    """Retention's handler for this table (infra.retention): the rows of these conversations (and,
    given `older_than`, every one from before it but those of `kept_conversations`) are not
    deleted but detached from their conversation, which makes them the eraser's to delete at
    Twilio, from TWILIO_ERASE_DELAY_S on; answers how many."""
    table = TwilioMessage.__table__
    now = utcnow()
    values = {"conversation_id": None, "erase_requested_at": now,
              "erase_after": now + dt.timedelta(seconds=erase_delay_s())}
    handed = 0
    if older_than is not None:
        old = [table.c.conversation_id.isnot(None), table.c.created_at <= older_than]
        if kept_conversations is not None:
            old.append(table.c.conversation_id.notin_(kept_conversations))
        handed += connection.execute(update(table).where(*old).values(**values)).rowcount
    for chunk in retention.chunks(conversation_ids):
        handed += connection.execute(update(table).where(table.c.conversation_id.in_(chunk)).values(**values)).rowcount
    return handed


def erase_delay_s() -> float:
    """TWILIO_ERASE_DELAY_S (default 60: Twilio asks for at least a minute before a message is deleted)."""
    try:
        return max(float(os.environ.get("TWILIO_ERASE_DELAY_S") or DEFAULT_ERASE_DELAY_S), 0.0)
    except ValueError:
        return DEFAULT_ERASE_DELAY_S


retention.declare(retention.RetentionRule(
    table=TwilioMessage.__table__, time_column=TwilioMessage.created_at,
    conversation_column=TwilioMessage.conversation_id, handler=hand_to_eraser,
    report_as="messages to delete at Twilio"))


def remember(conversation_id: Text, message_sid: Text, engine: Optional[Engine] = None) -> None:
    """Note a message Twilio carried for this conversation (to delete it there with the conversation)."""
    if message_sid:
        with session_scope(engine) as session:
            session.add(TwilioMessage(conversation_id=conversation_id, sid_sealed=seal(message_sid), created_at=utcnow()))


def retry_after_s(attempts: int) -> float:
    """Pause after `attempts` refusals: 1, 2, 4 ... minutes, at most 6 hours."""
    return min(60.0 * 2 ** max(attempts - 1, 0), MAX_RETRY_S)


def due(now: dt.datetime, engine: Optional[Engine] = None) -> List[Tuple[int, Optional[Text], int, dt.datetime]]:
    """(row id, SID or None when it cannot be unsealed, attempts, erase requested at) of messages to delete now."""
    with session_scope(engine) as session:
        rows = session.execute(select(TwilioMessage).where(TwilioMessage.conversation_id.is_(None),
                                                           TwilioMessage.erase_after <= now)
                               .order_by(TwilioMessage.erase_after).limit(BATCH)).scalars().all()
        return [(row.id, unseal(row.sid_sealed), row.attempts, row.erase_requested_at or row.created_at)
                for row in rows]


def forget(row_id: int, engine: Optional[Engine] = None) -> None:
    with session_scope(engine) as session:
        session.execute(delete(TwilioMessage).where(TwilioMessage.id == row_id))


def retry_later(row_id: int, attempts: int, engine: Optional[Engine] = None) -> None:
    at = utcnow() + dt.timedelta(seconds=retry_after_s(attempts))
    with session_scope(engine) as session:
        session.execute(update(TwilioMessage).where(TwilioMessage.id == row_id).values(attempts=attempts, erase_after=at))


def set_aside(row_id: int, engine: Optional[Engine] = None) -> None:
    """Keep a row no secret opens out of the way for UNREADABLE_RETRY (its attempts unchanged)."""
    with session_scope(engine) as session:
        session.execute(update(TwilioMessage).where(TwilioMessage.id == row_id)
                        .values(erase_after=utcnow() + UNREADABLE_RETRY))


def next_due_at(engine: Optional[Engine] = None) -> Optional[dt.datetime]:
    with session_scope(engine) as session:
        return session.execute(select(func.min(TwilioMessage.erase_after))
                               .where(TwilioMessage.conversation_id.is_(None))).scalar()


class TwilioEraser(DueWorkLoop):
    """Deletes at Twilio the messages of erased conversations; `run` in the background
    (bot.channels.due_work), `wake` when a conversation was just erased."""

    failure_message = "the Twilio erasure list could not be read; trying again soon"

    def __init__(self, engine: Optional[Engine] = None, settings: Optional[TwilioSettings] = None):
        super().__init__()
        self.engine, self.settings = engine, settings

    async def do_due(self) -> int:
        return await self.erase_due()

    def next_due_at(self) -> Optional[dt.datetime]:
        return next_due_at(self.engine)

    def now(self) -> dt.datetime:
        return utcnow()

    async def erase_due(self) -> int:
        """Ask Twilio to delete every message whose time has come; answers how many are gone."""
        gone = unreadable = 0
        for row_id, sid, attempts, requested_at in await asyncio.to_thread(due, utcnow(), self.engine):
            if sid is None:  # sealed under a secret this server lacks: kept until one opens it
                await asyncio.to_thread(set_aside, row_id, self.engine)
                unreadable += 1
                continue
            try:
                deleted = await delete_message(sid, self.settings)
            except TwilioNotConfigured:
                deleted = False
            if deleted:
                await asyncio.to_thread(forget, row_id, self.engine)
                gone += 1
            elif utcnow() - requested_at > GIVE_UP_AFTER:
                await asyncio.to_thread(forget, row_id, self.engine)
                logger.error("Twilio would not delete a message of an erased conversation for %s; given up",
                             GIVE_UP_AFTER)
            else:
                await asyncio.to_thread(retry_later, row_id, attempts + 1, self.engine)
        if gone:
            logger.info("%d messages of erased conversations deleted at Twilio", gone)
        if unreadable:
            logger.error("%d messages to delete at Twilio cannot be: their SIDs are %s", unreadable, UNREADABLE)
        return gone
