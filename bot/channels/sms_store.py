"""What the SMS line keeps in `DATABASE_URL`: each texter's conversation id and opt-out, and the
Twilio messages already handled.

A texter's conversation id is random ("sms-…"), not their phone number: Rasa's trackers, its
logs, the console and the handoff queue never see the number, and nobody who knows the number
can open the conversation through another channel (say, POST it as the REST channel's sender).
The number stays only here, where the SMS line needs it to answer.

A handled MessageSid is kept (as a SHA-256 hash; the SID is a key to the message at Twilio), so a
webhook Twilio retries is answered and not processed again, across restarts too.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Optional, Text

from sqlalchemy import Boolean, Column, DateTime, String, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from navigator.db import Base, session_scope

CONVERSATION_PREFIX = "sms-"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class SmsContact(Base):
    __tablename__ = "sms_contact"

    conversation_id = Column(String(64), primary_key=True)
    phone = Column(String(64), nullable=False, unique=True)
    opted_out = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class HandledSms(Base):
    __tablename__ = "sms_handled_message"

    sid_hash = Column(String(64), primary_key=True)
    received_at = Column(DateTime, nullable=False, default=utcnow, index=True)


@dataclass(frozen=True)
class Texter:
    conversation_id: Text
    phone: Text
    opted_out: bool


def _sid_hash(message_sid: Text) -> Text:
    return hashlib.sha256(message_sid.encode()).hexdigest()


def claim_message(message_sid: Text, engine: Optional[Engine] = None) -> bool:
    """True the first time a MessageSid is seen (it is now recorded), False for a retry."""
    try:
        with session_scope(engine) as session:
            session.add(HandledSms(sid_hash=_sid_hash(message_sid), received_at=utcnow()))
        return True
    except IntegrityError:
        return False


def texter_for_phone(phone: Text, engine: Optional[Engine] = None) -> Texter:
    """The texter with this number, created with a new random conversation id the first time."""
    for _ in range(2):  # a second try finds the row a concurrent first message created
        try:
            with session_scope(engine) as session:
                contact = session.execute(select(SmsContact).where(SmsContact.phone == phone)).scalar_one_or_none()
                if contact is None:
                    contact = SmsContact(conversation_id=CONVERSATION_PREFIX + secrets.token_hex(12), phone=phone,
                                         opted_out=False, created_at=utcnow())
                    session.add(contact)
                contact.last_seen_at = utcnow()
                session.flush()
                return Texter(contact.conversation_id, contact.phone, contact.opted_out)
        except IntegrityError:
            continue
    raise RuntimeError("could not record the texter")


def texter_for_conversation(conversation_id: Text, engine: Optional[Engine] = None) -> Optional[Texter]:
    """The texter behind an SMS conversation id, or None (not an SMS conversation, or purged)."""
    with session_scope(engine) as session:
        contact = session.get(SmsContact, conversation_id)
        return Texter(contact.conversation_id, contact.phone, contact.opted_out) if contact else None


def set_opted_out(conversation_id: Text, opted_out: bool, engine: Optional[Engine] = None) -> None:
    """Record STOP (True) or START (False): nothing is sent to an opted-out texter."""
    with session_scope(engine) as session:
        session.execute(update(SmsContact).where(SmsContact.conversation_id == conversation_id)
                        .values(opted_out=opted_out))
