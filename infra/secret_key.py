"""The navigator's one secret, the keys derived from it, and the ring of previous secrets.

Survivor data that must stay usable but unreadable at rest (an SMS texter's number, replies
waiting for Twilio, the Twilio message ids to delete) is protected with keys derived from ONE
secret, `NAVIGATOR_SECRET_KEY` (any string of at least 32 characters), by HKDF-SHA256 under a
different `info` label per use: a leaked HMAC key reveals nothing about the encryption key and
the other way round, and an operator keeps only one value safe. Every module that needs a secret
gets it here.

Without `NAVIGATOR_SECRET_KEY` (development, tests, `make run` on a laptop) a random secret is
created once in `var/secret_key` (mode 600) and reused, like `var/rasa_api_token`.
`secret_key_is_configured()` says which one is used, so a production mode can refuse to start
without a configured secret.

Changing the secret (a leak, staff leaving) must not lose what was sealed with the old one: a
texter would lose their conversation and, worse, the list of texts still to delete at Twilio
would be unreadable, so those texts would stay there for Twilio's full retention. So the old
secrets go in `NAVIGATOR_SECRET_KEY_PREVIOUS` (one or more, separated by commas or white space;
a secret therefore holds neither). Sealing always uses the current secret; opening tries the
current one, then each previous one (`fernet` is a MultiFernet); a keyed hash is looked up under
every secret (`keyed_hashes`) and rewritten under the current one when found (sms_store).
`navigator rekey` (navigator.rekey; also run by `navigator.schema.create_schema`, so by `make setup`
and each start, while previous secrets are set) re-seals every sealed row under the current
secret. An operator may drop `NAVIGATOR_SECRET_KEY_PREVIOUS` once every server runs the new
secret and `navigator rekey` reports "still under a previous secret: 0" and "no secret opens: 0".
A row no secret opens is never deleted for it: it is kept, and counted in an ERROR log line and
in `navigator rekey` and `navigator purge` output, so the missing secret can still be brought back.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from infra.config import VAR_DIR

ENV_NAME = "NAVIGATOR_SECRET_KEY"
PREVIOUS_ENV_NAME = "NAVIGATOR_SECRET_KEY_PREVIOUS"
MIN_CHARS = 32
KEY_FILE = VAR_DIR / "secret_key"


class SecretKeyError(ValueError):
    """NAVIGATOR_SECRET_KEY (or one of NAVIGATOR_SECRET_KEY_PREVIOUS) is set but unusable (too short)."""


def secret_key_is_configured() -> bool:
    """True when the secret comes from NAVIGATOR_SECRET_KEY, False when from var/secret_key."""
    return bool(os.environ.get(ENV_NAME))


def secret_key() -> bytes:
    """The secret: NAVIGATOR_SECRET_KEY, else the one kept in var/secret_key (created once)."""
    configured = os.environ.get(ENV_NAME)
    if configured:
        if len(configured) < MIN_CHARS:
            raise SecretKeyError(f"{ENV_NAME} must have at least {MIN_CHARS} characters, not {len(configured)}")
        return configured.encode()
    return _kept_secret(KEY_FILE)


def previous_secrets() -> list[bytes]:
    """The previous secrets of NAVIGATOR_SECRET_KEY_PREVIOUS, in the order given, without the
    current one (listing it there too is harmless)."""
    current = secret_key()
    previous = []
    for index, value in enumerate(re.split(r"[\s,]+", os.environ.get(PREVIOUS_ENV_NAME, "").strip())):
        if not value:
            continue
        if len(value) < MIN_CHARS:
            raise SecretKeyError(f"{PREVIOUS_ENV_NAME}: secret {index + 1} has fewer than {MIN_CHARS} characters "
                                 "(secrets are separated by commas or white space)")
        if value.encode() != current and value.encode() not in previous:
            previous.append(value.encode())
    return previous


def all_secrets() -> list[bytes]:
    """The current secret, then the previous ones."""
    return [secret_key(), *previous_secrets()]


@lru_cache(maxsize=None)
def _kept_secret(path: Path) -> bytes:
    """The secret in `path`, created (mode 600) by the first process that needs it. Written to a
    temporary file and linked into place, so a concurrent process never reads a half-written one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: use its secret
        finally:
            draft.unlink()
    secret = path.read_text().strip()
    if len(secret) < MIN_CHARS:
        raise SecretKeyError(f"{path} holds a secret of fewer than {MIN_CHARS} characters")
    return secret.encode()


@lru_cache(maxsize=64)
def _derive(secret: bytes, info: str, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info.encode()).derive(secret)


def derived_key(info: str, length: int = 32) -> bytes:
    """A key for one use, named by `info` (say "navigator sms phone hmac v1"), under the current secret."""
    return _derive(secret_key(), info, length)


def _hash(secret: bytes, info: str, value: str) -> str:
    return hmac.new(_derive(secret, info, 32), value.encode(), hashlib.sha256).hexdigest()


def keyed_hash(info: str, value: str) -> str:
    """HMAC-SHA256 of `value` (hex) under the current key for `info`: equal values give equal
    hashes, and nobody without the secret can test a guess. What is stored is always this one."""
    return _hash(secret_key(), info, value)


def keyed_hashes(info: str, value: str) -> list[str]:
    """The keyed hash of `value` under the current secret, then under each previous one: to find
    a row stored before the secret changed (and then store `keyed_hash` instead)."""
    return [_hash(secret, info, value) for secret in all_secrets()]


def _fernet_for(secret: bytes, info: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret, info, 32)))


def fernet(info: str) -> MultiFernet:
    """Authenticated encryption (Fernet) under the key for `info`: `encrypt` uses the current
    secret, `decrypt` tries the current one, then each previous one."""
    return MultiFernet([_fernet_for(secret, info) for secret in all_secrets()])


def reseal(info: str, token: bytes) -> bytes | None:
    """`token` sealed under the current secret when a previous one sealed it; None when the
    current one did already. Raises InvalidToken when no secret opens it."""
    try:
        _fernet_for(secret_key(), info).decrypt(token)
        return None
    except InvalidToken:
        return fernet(info).rotate(token)


def rasa_api_token() -> str:
    """The token that guards Rasa's HTTP API: RASA_API_TOKEN, or one kept in var/ (mode 600)."""
    if os.environ.get("RASA_API_TOKEN"):
        return os.environ["RASA_API_TOKEN"]
    path = VAR_DIR / "rasa_api_token"
    if not path.exists():
        VAR_DIR.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
