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
(run by `navigator.schema.create_schema`, so by `make setup`) rewrites that table without it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Optional, Text

from cryptography.fernet import InvalidToken
from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, inspect, select, text, update
from sqlalchemy import Text as LongText
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from infra import retention, secret_key
from infra.clock import utcnow
from infra.db import Base, get_engine, session_scope

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


retention.declare(retention.RetentionRule(  # the texter's number: goes with the conversation
    table=SmsContact.__table__, time_column=SmsContact.last_seen_at, conversation_column=SmsContact.conversation_id))


class HandledSms(Base):
    __tablename__ = "sms_handled_message"

    sid_hash = Column(String(64), primary_key=True)
    received_at = Column(DateTime, nullable=False, default=utcnow, index=True)


retention.declare(retention.RetentionRule(  # hashes of MessageSids: no conversation id, by age only
    table=HandledSms.__table__, time_column=HandledSms.received_at))


@dataclass(frozen=True)
class Texter:
    conversation_id: Text
    phone: Text
    opted_out: bool
    delete_requested_at: Optional[dt.datetime] = None


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


# --- databases from before the number was hashed ------------------------------------------------

def seal_plain_numbers(engine: Optional[Engine] = None) -> int:
    """Rewrite an `sms_contact` table that has a plain `phone` column: each number hashed and
    encrypted, and the old table dropped (not blanked: a dropped table leaves no copy in its
    pages once the files are compacted), so conversations, opt-outs and advocates' replies carry
    on. Answers how many texters were kept; 0 and nothing done for a current table."""
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
    retention.compact(engine)
    logger.warning("sms_contact: %d texters' numbers are now hashed and encrypted; the plain column is gone", kept)
    return kept
