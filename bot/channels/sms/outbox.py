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
from typing import Optional, Sequence, Text

from bot.channels.sms import store as sms_store, erasure as twilio_erasure
from bot.channels.due_work import DueWorkLoop
from infra.twilio_client import (UNSUBSCRIBED_RECIPIENT, TwilioNotConfigured, TwilioSendError, TwilioSettings,
                                     send_sms)
from infra.db import session_scope
from conversations.handoffs import note_undelivered

logger = logging.getLogger(__name__)

FIRST_RETRY_S = 15.0
MAX_RETRY_S = 120.0
BOT_REPLY_LIFETIME = dt.timedelta(minutes=10)
ADVOCATE_REPLY_LIFETIME = dt.timedelta(hours=4)
LEASE = dt.timedelta(seconds=60)  # longer than one attempt (REQUEST_TIMEOUT_S) takes
UNREADABLE_RETRY = dt.timedelta(minutes=5)


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
        if may_wait and await asyncio.to_thread(sms_store.has_queued, conversation_id, self.engine):
            await self._keep(conversation_id, parts, sms_store.utcnow(), from_advocate)  # behind the waiting ones
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
        await asyncio.to_thread(sms_store.queue_replies, conversation_id, parts, first_attempt_at, self.engine,
                                sms_store.utcnow() + lifetime, from_advocate)
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
            await asyncio.to_thread(sms_store.drop_queued, conversation_id, self.engine)
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
        return sms_store.next_due_at(self.engine)

    def now(self) -> dt.datetime:
        return sms_store.utcnow()

    async def send_due(self) -> int:
        """Try every reply whose time has come, oldest first per texter; answers how many went."""
        delivered, self.unreadable = 0, 0
        while True:
            due = await asyncio.to_thread(sms_store.claim_due_replies, sms_store.utcnow(), LEASE, 50, self.engine)
            if not due:
                if self.unreadable:
                    logger.error("%d SMS replies waiting: each, or its texter's number, is %s", self.unreadable,
                                 sms_store.UNREADABLE)
                return delivered
            for reply in due:
                delivered += await self._try(reply)

    async def _try(self, reply: sms_store.QueuedSms) -> int:
        texter = await asyncio.to_thread(sms_store.texter_for_conversation, reply.conversation_id, self.engine)
        unreadable = reply.body is None or (
            texter is None and await asyncio.to_thread(sms_store.has_contact, reply.conversation_id, self.engine))
        if not unreadable and (texter is None or texter.opted_out):  # erased, purged, or said STOP meanwhile
            await asyncio.to_thread(sms_store.drop_queued, reply.conversation_id, self.engine)
            return 0
        if stale(reply, sms_store.utcnow()):
            await asyncio.to_thread(sms_store.sent, reply.id, self.engine)  # dropped: too late to send
            logger.warning("an SMS %s reply waited past its lifetime; not sent",
                           "advocate's" if reply.from_advocate else "bot")
            if reply.from_advocate:
                await self._undelivered(reply.conversation_id)
            return 0
        if unreadable:  # kept: a previous secret may yet open it (NAVIGATOR_SECRET_KEY_PREVIOUS)
            self.unreadable += 1
            await asyncio.to_thread(sms_store.retry_later, reply.id, reply.attempts,
                                    sms_store.utcnow() + UNREADABLE_RETRY, self.engine)
            return 0
        try:
            await self._remember(reply.conversation_id, await send_sms(texter.phone, reply.body, self.settings,
                                                                       attempts=1))
        except (TwilioSendError, TwilioNotConfigured) as error:
            if isinstance(error, TwilioSendError) and not error.retryable:
                await self._refused(reply.conversation_id, error, reply.from_advocate)
                await asyncio.to_thread(sms_store.sent, reply.id, self.engine)  # dropped: it can never go
                return 0
            retries = reply.attempts + 1  # and one failure before it was kept
            await asyncio.to_thread(sms_store.retry_later, reply.id, retries, _later(retries + 1), self.engine)
            return 0
        await asyncio.to_thread(sms_store.sent, reply.id, self.engine)
        return 1


def stale(reply: sms_store.QueuedSms, now: dt.datetime) -> bool:
    """Whether a waiting reply is past its lifetime (rows from before lifetimes: the advocate's)."""
    return now > (reply.expires_at or reply.created_at + ADVOCATE_REPLY_LIFETIME)


def _later(failures: int) -> dt.datetime:
    return sms_store.utcnow() + dt.timedelta(seconds=retry_after_s(failures))
