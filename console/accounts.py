"""Advocate accounts for the console: named people with argon2-hashed passwords, and sign-in
guarded so that guessing is slow while nobody else can lock an advocate out.

People choose passwords, so they get a slow, memory-hard hash (argon2id); API tokens, which are
random, only need SHA-256 (console.tokens). A name that has no account is treated like one
that has, so failures reveal nothing about which names exist.

Failed sign-ins (OWASP's authentication cheat sheet: "account lockout" and its denial of
service) are counted three ways over a sliding window (`LockoutPolicy.minutes`):
- per name AND address: `per_pair` failures lock that pair only. The guesser's address stops
  guessing that name; the advocate, from any address that has not failed, still signs in.
- per address (any names): `per_address` failures lock that address, so one address cannot
  spray many names. Only the guesser's own address is affected, as long as addresses are the
  clients' own: behind a proxy that needs Sanic's proxy setting, which production mode demands
  (infra.production), since without it every client shares the proxy's address.
- per name from ANY address: only a slow-down, never a lock. Past `slow_after` failures each
  attempt for the name waits before its password is checked (doubling from 1 s, at most
  `max_delay_seconds`), so a stranger who knows an advocate's name can cost them a few seconds
  at sign-in, never the console. A hard per-name lock is what let anyone lock every advocate out.
The price: a guesser with many addresses gets `per_pair` guesses per address and window, which
the 10-character minimum and argon2 make hopeless for any real password; spikes of
`sign_in_refused` in the audit log show such an attack. A success clears only its own pair's
failures, so an advocate signing in does not hand a guesser fresh attempts.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from functools import lru_cache
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, DateTime, Integer, String, and_, delete, func, select
from sqlalchemy.orm import Session

from infra import retention
from infra.clock import utcnow
from infra.db import Base

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
    # Raised whenever the account's open console sessions must end (disabled, new password): a
    # session remembers the value it began with and is worth nothing once it differs
    # (console/sessions.py). None in rows of older databases: the same as 0.
    session_epoch = Column(Integer, nullable=True)

    @property
    def current_session_epoch(self) -> int:
        return self.session_epoch or 0

    def end_sessions(self) -> None:
        """Make every console session of this account, in every console process, end at its next request."""
        self.session_epoch = self.current_session_epoch + 1

    @property
    def active(self) -> bool:
        return self.disabled_at is None


class LoginFailure(Base):
    """One failed sign-in; counted over a sliding window for the lock-out, then deleted."""
    __tablename__ = "login_failure"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False, index=True)  # lower-cased name as typed
    address = Column(String(64), nullable=False, index=True)  # the client's address (see module docstring)
    at = Column(DateTime, nullable=False, index=True, default=utcnow)


retention.exempt(Advocate.__table__, LoginFailure.__table__,
                 why="advocates' accounts and failed sign-ins (deleted after the lock-out window), no conversation")


@dataclasses.dataclass(frozen=True)
class LockoutPolicy:
    """How failed sign-ins are counted (see the module docstring for why these three)."""
    per_pair: int = 5  # failures of one name from one address that lock that pair
    per_address: int = 20  # failures from one address, any names, that lock that address
    minutes: float = 15  # the window failures are counted over, and so how long a lock lasts
    slow_after: int = 5  # failures of one name from anywhere after which each attempt waits
    max_delay_seconds: float = 10  # the longest that wait grows to

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
    """A new password; every open console session of the account ends (whoever knew the old
    password, or held a session made with it, is out)."""
    advocate = _existing(session, name)
    advocate.password_hash = _hasher().hash(_check_password(password))
    advocate.end_sessions()
    return advocate


def disable_advocate(session: Session, name: str) -> Advocate:
    """Stop an account signing in; its open console sessions end at their next request, and
    stay ended if the account is enabled again."""
    advocate = _existing(session, name)
    if advocate.disabled_at is None:
        advocate.disabled_at = utcnow()
    advocate.end_sessions()
    return advocate


def enable_advocate(session: Session, name: str) -> Advocate:
    advocate = _existing(session, name)
    advocate.disabled_at = None
    return advocate


def list_advocates(session: Session) -> list[Advocate]:
    return list(session.execute(select(Advocate).order_by(func.lower(Advocate.name))).scalars())


def _recent_failures(session: Session, since: dt.datetime, *conditions) -> int:
    return session.execute(
        select(func.count(LoginFailure.id)).where(LoginFailure.at > since, *conditions)).scalar_one()


def _key(name: str) -> str:
    return (name or "").strip().lower()[:100]


def locked_out(session: Session, name: str, address: str, policy: LockoutPolicy,
               now: Optional[dt.datetime] = None) -> bool:
    """True while `address` has failed too often for `name`, or for names in general. Never
    true for a name alone: other addresses are not affected."""
    since = (now or utcnow()) - policy.window
    address = (address or "")[:64]
    return (_recent_failures(session, since, and_(LoginFailure.name == _key(name), LoginFailure.address == address))
            >= policy.per_pair
            or _recent_failures(session, since, LoginFailure.address == address) >= policy.per_address)


def sign_in_delay(session: Session, name: str, policy: LockoutPolicy, now: Optional[dt.datetime] = None) -> float:
    """Seconds an attempt for `name` waits before its password is checked: 0 until the name
    has `slow_after` recent failures from anywhere, then 1, 2, 4 ... up to `max_delay_seconds`."""
    failures = _recent_failures(session, (now or utcnow()) - policy.window, LoginFailure.name == _key(name))
    if failures < policy.slow_after:
        return 0.0
    return float(min(policy.max_delay_seconds, 2.0 ** min(failures - policy.slow_after, 30)))


def sign_in(session: Session, name: str, password: str, address: str, policy: LockoutPolicy) -> SignIn:
    """Check a name and password from `address`; count a failure, or clear this name and
    address's failures on success. The caller waits `sign_in_delay` first.

    While the pair or the address is locked out, the password is not even checked, so
    guessing from there gains nothing.
    """
    now = utcnow()
    key = _key(name)
    address = (address or "")[:64]
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
        session.add(LoginFailure(name=key, address=address, at=now))
        session.flush()
        return SignIn(locked=locked_out(session, key, address, policy, now))
    if _hasher().check_needs_rehash(advocate.password_hash):
        advocate.password_hash = _hasher().hash(password)
    session.execute(delete(LoginFailure).where(LoginFailure.name == key, LoginFailure.address == address))
    return SignIn(advocate=advocate)
