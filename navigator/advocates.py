"""Advocate accounts for the console: named people with argon2-hashed passwords, and sign-in
with a time-limited lock-out after repeated failures (per account and per address).

People choose passwords, so they get a slow, memory-hard hash (argon2id); API tokens, which are
random, only need SHA-256 (navigator.tokens). A name that has no account is locked out like one
that has, so failures reveal nothing about which names exist.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from functools import lru_cache
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, DateTime, Integer, String, delete, func, select
from sqlalchemy.orm import Session

from navigator.db import Base
from navigator.handoffs import utcnow

MIN_PASSWORD_LENGTH = 10
NAME_PATTERN = re.compile(r"^[\w.@ -]{1,100}$")
# How survivors see an advocate who joins their chat ("Hi, I'm Maria, an advocate"): a first
# name or a role the advocate chooses, in letters an SMS carries as they are (GSM-7). No digits,
# so it can never be a phone number; short, so the notice stays one SMS.
DISPLAY_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z .'-]{0,29}$")


class Advocate(Base):
    __tablename__ = "advocate"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    disabled_at = Column(DateTime, nullable=True)
    display_name = Column(String(30), nullable=True)  # what survivors are told (DISPLAY_NAME_PATTERN)

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class LoginFailure(Base):
    """One failed sign-in; counted over a sliding window for the lock-out, then deleted."""
    __tablename__ = "login_failure"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, index=True)  # lower-cased name as typed
    address = Column(String(64), nullable=False, index=True)  # the advocate's IP address
    at = Column(DateTime, nullable=False, index=True, default=utcnow)


@dataclasses.dataclass(frozen=True)
class LockoutPolicy:
    per_account: int = 5
    per_address: int = 20
    minutes: float = 15

    @property
    def window(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.minutes)


@dataclasses.dataclass
class SignIn:
    """The result of a sign-in attempt: the advocate, or why not."""
    advocate: Optional[Advocate] = None
    locked: bool = False


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended cost


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """Checked when the name is unknown, so a wrong name takes as long as a wrong password."""
    return _hasher().hash("not a real password: no account has this hash")


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise ValueError("a name is 1 to 100 letters, digits, spaces or . _ @ -")
    return name


def _check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def find_advocate(session: Session, name: str) -> Optional[Advocate]:
    """The account called `name` (names are case-insensitive), active or not."""
    return session.execute(
        select(Advocate).where(func.lower(Advocate.name) == (name or "").strip().lower())
    ).scalars().first()


def add_advocate(session: Session, name: str, password: str) -> Advocate:
    name = _check_name(name)
    _check_password(password)
    if find_advocate(session, name) is not None:
        raise ValueError(f"there is already an advocate called {name!r}")
    advocate = Advocate(name=name, password_hash=_hasher().hash(password), created_at=utcnow())
    session.add(advocate)
    session.flush()
    return advocate


def _existing(session: Session, name: str) -> Advocate:
    advocate = find_advocate(session, name)
    if advocate is None:
        raise ValueError(f"there is no advocate called {name.strip()!r}")
    return advocate


def check_display_name(display_name: str) -> str:
    """The name survivors will see, tidied; "" clears it (survivors are then told "an advocate")."""
    display_name = " ".join((display_name or "").split())
    if display_name and not DISPLAY_NAME_PATTERN.match(display_name):
        raise ValueError("A name for survivors is 1 to 30 letters (spaces, . ' - allowed), "
                         "like a first name or a role: no digits or other signs.")
    return display_name


def set_display_name(session: Session, name: str, display_name: str) -> Advocate:
    """Set how survivors see the advocate `name` when they join a chat ("" for no name)."""
    advocate = _existing(session, name)
    advocate.display_name = check_display_name(display_name) or None
    return advocate


def set_password(session: Session, name: str, password: str) -> Advocate:
    advocate = _existing(session, name)
    advocate.password_hash = _hasher().hash(_check_password(password))
    return advocate


def disable_advocate(session: Session, name: str) -> Advocate:
    """Stop an account signing in; its open console sessions stop working at their next request."""
    advocate = _existing(session, name)
    if advocate.disabled_at is None:
        advocate.disabled_at = utcnow()
    return advocate


def enable_advocate(session: Session, name: str) -> Advocate:
    advocate = _existing(session, name)
    advocate.disabled_at = None
    return advocate


def list_advocates(session: Session) -> list[Advocate]:
    return list(session.execute(select(Advocate).order_by(func.lower(Advocate.name))).scalars())


def _recent_failures(session: Session, column, value: str, since: dt.datetime) -> int:
    return session.execute(
        select(func.count(LoginFailure.id)).where(column == value, LoginFailure.at > since)).scalar_one()


def locked_out(session: Session, name: str, address: str, policy: LockoutPolicy,
               now: Optional[dt.datetime] = None) -> bool:
    """True while the name or the address has had too many recent failures."""
    since = (now or utcnow()) - policy.window
    return (_recent_failures(session, LoginFailure.name, (name or "").strip().lower(), since) >= policy.per_account
            or _recent_failures(session, LoginFailure.address, address, since) >= policy.per_address)


def sign_in(session: Session, name: str, password: str, address: str, policy: LockoutPolicy) -> SignIn:
    """Check a name and password; count a failure, or clear the name's failures on success.

    While locked out, the password is not even checked, so guessing gains nothing.
    """
    now = utcnow()
    key = (name or "").strip().lower()[:100]
    session.execute(delete(LoginFailure).where(LoginFailure.at <= now - policy.window))
    if locked_out(session, key, address, policy, now):
        return SignIn(locked=True)
    advocate = find_advocate(session, key) if key else None
    stored = advocate.password_hash if advocate is not None and advocate.active else _decoy_hash()
    try:
        good = _hasher().verify(stored, password or "") and advocate is not None and advocate.active
    except (VerificationError, InvalidHashError):
        good = False
    if not good:
        session.add(LoginFailure(name=key, address=address[:64], at=now))
        session.flush()
        return SignIn(locked=locked_out(session, key, address, policy, now))
    if _hasher().check_needs_rehash(advocate.password_hash):
        advocate.password_hash = _hasher().hash(password)
    session.execute(delete(LoginFailure).where(LoginFailure.name == key))
    return SignIn(advocate=advocate)
