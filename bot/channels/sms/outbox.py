"""Replies that survive a Twilio outage: sent at once when Twilio takes them, otherwise kept in
the outbox (`sms_outbox` in `DATABASE_URL`, bodies encrypted, addressed by conversation id, never
by number) and retried from a background task of the Rasa server.

Only failures that waiting can fix are kept: no answer, a timeout, HTTP 429 or 5xx (after the
quick retries of `send_sms`). A refusal that retrying cannot fix (a 4xx such as 21610, the
texter opted out at Twilio) drops the reply. A texter's replies go out in order: while one of
theirs waits, later ones wait behind it. Retries back off from 15 s to 2 minutes.

Words go stale, and a stale text can arrive when someone else holds the phone. So the bot's own
replies are not sent more than BOT_REPLY_LIFETIME after they were said (minutes: the person has
moved on, and the 24/7 lines they got stay true); an advocate's reply waits up to
ADVOCATE_REPLY_LIFETIME (a person chose those words), and one that never went out is counted on
the handoff (conversations.handoffs.note_undelivered), so the advocate sees it in the console.
The rows outlive a restart; several Rasa servers can share the outbox (each reply is leased by
the one sending it). Neither numbers nor text are logged.
Each reply Twilio takes is noted for erasure at Twilio with its conversation (bot.channels.sms.erasure).
A reply (or its texter's number) that no secret of this server opens (NAVIGATOR_SECRET_KEY changed,
infra.secret_key) is kept and tried again every UNREADABLE_RETRY, logged as an ERROR with a
count, until a previous secret opens it or its lifetime ends: it is never dropped for that reason alone.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import List, Optional, Sequence, Text

from sqlalchemy import Boolean, Column, DateTime, Integer, String, delete, func, select, update
from sqlalchemy import Text as LongText
from sqlalchemy.engine import Engine

from bot.channels.due_work import DueWorkLoop
from bot.channels.sms import erasure as twilio_erasure
from bot.channels.sms import store as sms_store
from bot.channels.sms.store import SEALING_KEY, seal, unseal
from conversations.handoffs import note_undelivered
from infra import retention
from infra.clock import utcnow
from infra.db import Base, session_scope
from infra.twilio_client import UNSUBSCRIBED_RECIPIENT, TwilioNotConfigured, TwilioSendError, TwilioSettings, send_sms

logger = logging.getLogger(__name__)

FIRST_RETRY_S = 15.0
MAX_RETRY_S = 120.0
BOT_REPLY_LIFETIME = dt.timedelta(minutes=10)
ADVOCATE_REPLY_LIFETIME = dt.timedelta(hours=4)
LEASE = dt.timedelta(seconds=60)  # longer than one attempt (REQUEST_TIMEOUT_S) takes
UNREADABLE_RETRY = dt.timedelta(minutes=5)


class OutboxSms(Base):
    """A reply Twilio could not take yet; sent in `id` order per conversation (bot.channels.sms.outbox)."""

    __tablename__ = "sms_outbox"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(64), nullable=False, index=True)
    body_encrypted = Column(LongText, nullable=False, info={"sealed_with": SEALING_KEY})
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    expires_at = Column(DateTime, nullable=True)  # not sent after this: stale words (sms_outbox)
    from_advocate = Column(Boolean, nullable=True)  # an advocate's words: the console says if they never went


retention.declare(retention.RetentionRule(  # replies waiting for Twilio (bot.channels.sms.outbox)
    table=OutboxSms.__table__, time_column=OutboxSms.created_at, conversation_column=OutboxSms.conversation_id))


@dataclass(frozen=True)
class QueuedSms:
    id: int
    conversation_id: Text
    body: Optional[Text]  # None: sealed under a secret this server does not have (kept, not sendable now)
    attempts: int
    created_at: dt.datetime
    expires_at: Optional[dt.datetime] = None
    from_advocate: bool = False


# --- the table -------------------------------------------------------------------------------

def queue_replies(conversation_id: Text, bodies: Sequence[Text], first_attempt_at: dt.datetime,
                  engine: Optional[Engine] = None, expires_at: Optional[dt.datetime] = None,
                  from_advocate: bool = False) -> None:
    """Keep replies Twilio could not take, encrypted, behind the conversation's others, to be
    sent no later than `expires_at`."""
    now = utcnow()
    with session_scope(engine) as session:
        session.add_all([OutboxSms(conversation_id=conversation_id, body_encrypted=seal(body), created_at=now,
                                   attempts=0, next_attempt_at=first_attempt_at, expires_at=expires_at,
                                   from_advocate=from_advocate) for body in bodies])


def has_queued(conversation_id: Text, engine: Optional[Engine] = None) -> bool:
    """True while replies of this conversation wait: a new one must wait behind them."""
    with session_scope(engine) as session:
        return session.execute(select(OutboxSms.id).where(OutboxSms.conversation_id == conversation_id)
                               .limit(1)).first() is not None


def claim_due_replies(now: dt.datetime, lease: dt.timedelta, limit: int = 50,
                      engine: Optional[Engine] = None) -> List[QueuedSms]:
    """The oldest waiting reply of each conversation whose time has come, leased until
    `now + lease` so that no other Rasa server sends it meanwhile. A reply no secret opens
    comes with `body` None: kept, for the sender to wait on or expire (sms_outbox)."""
    claimed: List[QueuedSms] = []
    with session_scope(engine) as session:
        rows = session.execute(select(OutboxSms).where(OutboxSms.id.in_(_heads()), OutboxSms.next_attempt_at <= now)
                               .order_by(OutboxSms.id).limit(limit)).scalars().all()
        for row in rows:
            taken = session.execute(update(OutboxSms).where(OutboxSms.id == row.id, OutboxSms.next_attempt_at <= now)
                                    .values(next_attempt_at=now + lease)
                                    .execution_options(synchronize_session=False)).rowcount
            if taken:
                body = unseal(row.body_encrypted)
                claimed.append(QueuedSms(row.id, row.conversation_id, body, row.attempts, row.created_at,
                                         row.expires_at, bool(row.from_advocate)))
    return claimed


def next_due_at(engine: Optional[Engine] = None) -> Optional[dt.datetime]:
    """When the outbox has its next reply to try, or None when it is empty."""
    with session_scope(engine) as session:
        return session.execute(select(func.min(OutboxSms.next_attempt_at)).where(OutboxSms.id.in_(_heads()))).scalar()


def _heads():
    """Each conversation's oldest waiting reply: the only one that may be tried (order per texter)."""
    return select(func.min(OutboxSms.id)).group_by(OutboxSms.conversation_id)


def sent(reply_id: int, engine: Optional[Engine] = None) -> None:
    with session_scope(engine) as session:
        session.execute(delete(OutboxSms).where(OutboxSms.id == reply_id))


def retry_later(reply_id: int, attempts: int, at: dt.datetime, engine: Optional[Engine] = None) -> None:
    with session_scope(engine) as session:
        session.execute(update(OutboxSms).where(OutboxSms.id == reply_id).values(attempts=attempts, next_attempt_at=at))


def drop_queued(conversation_id: Text, engine: Optional[Engine] = None) -> int:
    """Forget every waiting reply of a conversation (opted out, gone, or waited too long)."""
    with session_scope(engine) as session:
        return session.execute(delete(OutboxSms).where(OutboxSms.conversation_id == conversation_id)).rowcount


# --- the sender ---------------------------------------------------------------------------------

def retry_after_s(failures: int) -> float:
    """Seconds before the next try of a reply that failed `failures` times: 15, 30, 60, 120, 120..."""
    return min(FIRST_RETRY_S * 2 ** max(failures - 1, 0), MAX_RETRY_S)


class SmsOutbox(DueWorkLoop):
    """Sends a conversation's SMS replies, keeping what Twilio cannot take now for later; `run`
    is the background sender (bot.channels.due_work)."""

    failure_message = "the SMS outbox could not be read; trying again soon"

    def __init__(self, engine=None, settings: Optional[TwilioSettings] = None):
        super().__init__()
        self.engine, self.settings = engine, settings
        self.unreadable = 0  # replies kept in this round because no secret opens them

    async def send(self, conversation_id: Text, phone: Text, parts: Sequence[Text], may_wait: bool = True,
                   from_advocate: bool = False) -> bool:
        """Send `parts` in order; True when all went out now. With `may_wait`, what Twilio cannot
        take now is kept for the background sender (and so is everything behind a waiting reply)."""
        if may_wait and await asyncio.to_thread(has_queued, conversation_id, self.engine):
            await self._keep(conversation_id, parts, utcnow(), from_advocate)  # behind the waiting ones
            return False
        for index, part in enumerate(parts):
            try:
                await self._remember(conversation_id, await send_sms(phone, part, self.settings))
            except TwilioSendError as error:
                if may_wait and error.retryable:
                    logger.warning("Twilio cannot take an SMS reply now (%s); kept to retry", error)
                    await self._keep(conversation_id, parts[index:], _later(1), from_advocate)
                    return False
                await self._refused(conversation_id, error, from_advocate)
                return False
        return True

    async def _keep(self, conversation_id: Text, parts: Sequence[Text], first_attempt_at: dt.datetime,
                    from_advocate: bool) -> None:
        lifetime = ADVOCATE_REPLY_LIFETIME if from_advocate else BOT_REPLY_LIFETIME
        await asyncio.to_thread(queue_replies, conversation_id, parts, first_attempt_at, self.engine,
                                utcnow() + lifetime, from_advocate)
        self.wake()

    async def _remember(self, conversation_id: Text, message_sid: Text) -> None:
        """Note the sent reply's SID, so that erasing the conversation deletes it at Twilio too."""
        try:
            await asyncio.to_thread(twilio_erasure.remember, conversation_id, message_sid, self.engine)
        except Exception:  # the reply went out; a database fault must not make it look unsent
            logger.exception("could not note a sent SMS for later erasure at Twilio")

    async def _refused(self, conversation_id: Text, error: TwilioSendError, from_advocate: bool) -> None:
        if error.code == UNSUBSCRIBED_RECIPIENT:  # Twilio holds a STOP we did not see
            await asyncio.to_thread(sms_store.set_opted_out, conversation_id, True, self.engine)
            await asyncio.to_thread(drop_queued, conversation_id, self.engine)
        logger.error("an SMS reply was not sent: %s", error)
        if from_advocate:
            await self._undelivered(conversation_id)

    async def _undelivered(self, conversation_id: Text) -> None:
        """An advocate's words never went out: counted on the handoff for the console."""
        def note() -> None:
            with session_scope(self.engine) as session:
                note_undelivered(session, conversation_id)
        try:
            await asyncio.to_thread(note)
        except Exception as error:
            logger.error("could not note an undelivered advocate reply: %s", type(error).__name__)

    def pause_after_failure(self) -> float:
        return FIRST_RETRY_S

    async def do_due(self) -> int:
        return await self.send_due()

    def next_due_at(self) -> Optional[dt.datetime]:
        return next_due_at(self.engine)

    def now(self) -> dt.datetime:
        return utcnow()

    async def send_due(self) -> int:
        """Try every reply whose time has come, oldest first per texter; answers how many went."""
        delivered, self.unreadable = 0, 0
        while True:
            due = await asyncio.to_thread(claim_due_replies, utcnow(), LEASE, 50, self.engine)
            if not due:
                if self.unreadable:
                    logger.error("%d SMS replies waiting: each, or its texter's number, is %s", self.unreadable,
                                 sms_store.UNREADABLE)
                return delivered
            for reply in due:
                delivered += await self._try(reply)

    async def _try(self, reply: QueuedSms) -> int:
        texter = await asyncio.to_thread(sms_store.texter_for_conversation, reply.conversation_id, self.engine)
        unreadable = reply.body is None or (
            texter is None and await asyncio.to_thread(sms_store.has_contact, reply.conversation_id, self.engine))
        if not unreadable and (texter is None or texter.opted_out):  # erased, purged, or said STOP meanwhile
            await asyncio.to_thread(drop_queued, reply.conversation_id, self.engine)
            return 0
        if stale(reply, utcnow()):
            await asyncio.to_thread(sent, reply.id, self.engine)  # dropped: too late to send
            logger.warning("an SMS %s reply waited past its lifetime; not sent",
                           "advocate's" if reply.from_advocate else "bot")
            if reply.from_advocate:
                await self._undelivered(reply.conversation_id)
            return 0
        if unreadable:  # kept: a previous secret may yet open it (NAVIGATOR_SECRET_KEY_PREVIOUS)
            self.unreadable += 1
            await asyncio.to_thread(retry_later, reply.id, reply.attempts,
                                    utcnow() + UNREADABLE_RETRY, self.engine)
            return 0
        try:
            await self._remember(reply.conversation_id, await send_sms(texter.phone, reply.body, self.settings,
                                                                       attempts=1))
        except (TwilioSendError, TwilioNotConfigured) as error:
            if isinstance(error, TwilioSendError) and not error.retryable:
                await self._refused(reply.conversation_id, error, reply.from_advocate)
                await asyncio.to_thread(sent, reply.id, self.engine)  # dropped: it can never go
                return 0
            retries = reply.attempts + 1  # and one failure before it was kept
            await asyncio.to_thread(retry_later, reply.id, retries, _later(retries + 1), self.engine)
            return 0
        await asyncio.to_thread(sent, reply.id, self.engine)
        return 1


def stale(reply: QueuedSms, now: dt.datetime) -> bool:
    """Whether a waiting reply is past its lifetime (rows from before lifetimes: the advocate's)."""
    return now > (reply.expires_at or reply.created_at + ADVOCATE_REPLY_LIFETIME)


def _later(failures: int) -> dt.datetime:
    return utcnow() + dt.timedelta(seconds=retry_after_s(failures))
