"""What the SMS line keeps in `DATABASE_URL`: each texter's conversation id, opt-out and pending
DELETE; the Twilio messages already handled; and the replies waiting for Twilio (the outbox).

A texter's conversation id is random ("sms-…"), not derived from their phone number: Rasa's
trackers, its logs, the console and the handoff queue never see the number, and nobody who knows
the number can open the conversation through another channel (say, POST it as the REST
channel's sender). The number itself is never stored in plain text: a texter is found by a keyed
hash of it (HMAC-SHA256; without the secret, nobody can test whether a number texted the line),
and the number the line answers is kept encrypted (Fernet). Both keys come from
infra.secret_key. Replies waiting in the outbox are encrypted the same way and addressed by
conversation id.

When the secret changes, the previous one stays in NAVIGATOR_SECRET_KEY_PREVIOUS: a texter whose
row was hashed under it is still found, and their row is re-hashed and re-sealed under the current
secret then (`texter_for_phone`); `navigator rekey` does the same for every row (the sealed
columns say so in their `info`, navigator.rekey). A row that no secret opens is kept, never
dropped, and logged as an ERROR (a count, no content): a reply waits in the outbox until its
lifetime ends, in case the missing secret is brought back.

A handled MessageSid is kept (as a SHA-256 hash; the SID is a key to the message at Twilio), so a
webhook Twilio retries is answered and not processed again, across restarts too.

A database from before the number was hashed has a plain `phone` column: `seal_plain_numbers`
(run by `infra.db.create_schema`, so by `make setup`) rewrites that table without it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import List, Optional, Sequence, Text

from cryptography.fernet import InvalidToken
from sqlalchemy import (Boolean, Column, DateTime, Integer, MetaData, String, Table, Text as LongText, delete, func,
                        inspect, select, text, update)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from infra import secret_key
from infra.db import Base, get_engine, session_scope
from infra.clock import utcnow

logger = logging.getLogger(__name__)

CONVERSATION_PREFIX = "sms-"
# Labels of the keys derived from NAVIGATOR_SECRET_KEY (infra.secret_key): never reuse one.
PHONE_HASH_KEY = "navigator sms phone hmac v1"
SEALING_KEY = "navigator sms fernet v1"


class SmsContact(Base):
    __tablename__ = "sms_contact"

    conversation_id = Column(String(64), primary_key=True)
    # keyed hash of the normalised number, and the number, to answer (Fernet); `info`: navigator.rekey
    phone_hash = Column(String(64), nullable=False, unique=True,
                        info={"keyed_hash_of": ("phone_encrypted", PHONE_HASH_KEY)})
    phone_encrypted = Column(LongText, nullable=False, info={"sealed_with": SEALING_KEY})
    opted_out = Column(Boolean, nullable=False, default=False)
    delete_requested_at = Column(DateTime, nullable=True)  # DELETE sent, YES not yet
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow, index=True)


class HandledSms(Base):
    __tablename__ = "sms_handled_message"

    sid_hash = Column(String(64), primary_key=True)
    received_at = Column(DateTime, nullable=False, default=utcnow, index=True)


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


@dataclass(frozen=True)
class Texter:
    conversation_id: Text
    phone: Text
    opted_out: bool
    delete_requested_at: Optional[dt.datetime] = None


@dataclass(frozen=True)
class QueuedSms:
    id: int
    conversation_id: Text
    body: Optional[Text]  # None: sealed under a secret this server does not have (kept, not sendable now)
    attempts: int
    created_at: dt.datetime
    expires_at: Optional[dt.datetime] = None
    from_advocate: bool = False


# --- numbers: hashed to find, sealed to answer -----------------------------------------------

def normalised_number(phone: Text) -> Text:
    """The number without the formatting people add ("+1 (555) 555-0123" -> "+15555550123");
    Twilio sends E.164 already."""
    return re.sub(r"[\s().\-]", "", phone or "")


def phone_hash(phone: Text) -> Text:
    """The keyed hash a texter is found by (under the current secret: what is stored)."""
    return secret_key.keyed_hash(PHONE_HASH_KEY, normalised_number(phone))


def seal(value: Text) -> Text:
    """`value` encrypted under the current secret."""
    return secret_key.fernet(SEALING_KEY).encrypt(value.encode()).decode()


def unseal(token: Text) -> Optional[Text]:
    """The sealed value (under the current or a previous secret), or None when no secret this
    server has opens it; the caller keeps the row and logs it."""
    try:
        return secret_key.fernet(SEALING_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        return None


UNREADABLE = ("sealed under a secret this server does not have (NAVIGATOR_SECRET_KEY changed without "
              "NAVIGATOR_SECRET_KEY_PREVIOUS?); kept")


# --- texters ------------------------------------------------------------------------------------

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
    number = normalised_number(phone)
    digests = secret_key.keyed_hashes(PHONE_HASH_KEY, number)  # the current secret's first
    digest = digests[0]
    for _ in range(2):  # a second try finds the row a concurrent first message created
        try:
            with session_scope(engine) as session:
                found = session.execute(select(SmsContact).where(SmsContact.phone_hash.in_(digests))).scalars().all()
                contact = min(found, key=lambda row: digests.index(row.phone_hash), default=None)
                if contact is not None and contact.phone_hash != digest:  # hashed under a previous secret
                    contact.phone_hash, contact.phone_encrypted = digest, seal(number)
                if contact is None:
                    contact = SmsContact(conversation_id=CONVERSATION_PREFIX + secrets.token_hex(12),
                                         phone_hash=digest, phone_encrypted=seal(number), opted_out=False,
                                         created_at=utcnow())
                    session.add(contact)
                contact.last_seen_at = utcnow()
                session.flush()
                return Texter(contact.conversation_id, number, contact.opted_out, contact.delete_requested_at)
        except IntegrityError:
            continue
    raise RuntimeError("could not record the texter")


def texter_for_conversation(conversation_id: Text, engine: Optional[Engine] = None) -> Optional[Texter]:
    """The texter behind an SMS conversation id, or None (not an SMS conversation, purged, or
    sealed under another secret)."""
    with session_scope(engine) as session:
        contact = session.get(SmsContact, conversation_id)
        if contact is None:
            return None
        phone = unseal(contact.phone_encrypted)
        if phone is None:
            logger.error("1 SMS texter's number is %s", UNREADABLE)
            return None
        return Texter(contact.conversation_id, phone, contact.opted_out, contact.delete_requested_at)


def has_contact(conversation_id: Text, engine: Optional[Engine] = None) -> bool:
    """True while the SMS line keeps a texter for this conversation (readable or not)."""
    with session_scope(engine) as session:
        return session.get(SmsContact, conversation_id) is not None


def set_opted_out(conversation_id: Text, opted_out: bool, engine: Optional[Engine] = None) -> None:
    """Record STOP (True) or START (False): nothing is sent to an opted-out texter."""
    with session_scope(engine) as session:
        session.execute(update(SmsContact).where(SmsContact.conversation_id == conversation_id)
                        .values(opted_out=opted_out))


def set_delete_requested(conversation_id: Text, requested: bool, engine: Optional[Engine] = None) -> None:
    """Record that the texter sent DELETE (now), or forget it (they answered something else)."""
    with session_scope(engine) as session:
        session.execute(update(SmsContact).where(SmsContact.conversation_id == conversation_id)
                        .values(delete_requested_at=utcnow() if requested else None))


# --- the outbox -------------------------------------------------------------------------------

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


# --- databases from before the number was hashed ------------------------------------------------

def seal_plain_numbers(engine: Optional[Engine] = None) -> int:
    """Rewrite an `sms_contact` table that has a plain `phone` column: each number hashed and
    encrypted, and the old table dropped (not blanked: a dropped table leaves no copy in its
    pages once the files are compacted), so conversations, opt-outs and advocates' replies carry
    on. Answers how many texters were kept; 0 and nothing done for a current table."""
    from conversations.retention import compact

    engine = engine or get_engine()
    inspector = inspect(engine)
    if not inspector.has_table(SmsContact.__tablename__):
        return 0
    if "phone" not in {column["name"] for column in inspector.get_columns(SmsContact.__tablename__)}:
        return 0
    kept = 0
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("PRAGMA secure_delete=ON"))
        table = Table(SmsContact.__tablename__, MetaData(), autoload_with=connection)
        old = connection.execute(select(table.c.conversation_id, table.c.phone, table.c.opted_out, table.c.created_at,
                                        table.c.last_seen_at).order_by(table.c.last_seen_at.desc())).all()
        connection.execute(text("DROP TABLE sms_contact"))
        SmsContact.__table__.create(connection)
        seen = set()
        for conversation_id, phone, opted_out, created_at, last_seen_at in old:
            digest = phone_hash(phone or "")
            if not phone or digest in seen:  # one texter written two ways: keep the latest conversation
                continue
            seen.add(digest)
            connection.execute(SmsContact.__table__.insert().values(
                conversation_id=conversation_id, phone_hash=digest, phone_encrypted=seal(normalised_number(phone)),
                opted_out=bool(opted_out), created_at=created_at or utcnow(), last_seen_at=last_seen_at or utcnow()))
            kept += 1
    compact(engine)
    logger.warning("sms_contact: %d texters' numbers are now hashed and encrypted; the plain column is gone", kept)
    return kept
