"""The navigator's one secret, and the keys derived from it.

Survivor data that must stay usable but unreadable at rest (an SMS texter's number, replies
waiting for Twilio) is protected with keys derived from ONE secret, `NAVIGATOR_SECRET_KEY` (any
string of at least 32 characters), by HKDF-SHA256 under a different `info` label per use: a
leaked HMAC key reveals nothing about the encryption key and the other way round, and an operator
keeps only one value safe. Every module that needs a secret gets it here.

Without `NAVIGATOR_SECRET_KEY` (development, tests, `make run` on a laptop) a random secret is
created once in `var/secret_key` (mode 600) and reused, like `var/rasa_api_token`.
`secret_key_is_configured()` says which one is used, so a production mode can refuse to start
without a configured secret. Changing the secret makes what was sealed with the old one
unreadable: texters then start new conversations, and their old records go with the next purge.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from navigator.config import VAR_DIR

ENV_NAME = "NAVIGATOR_SECRET_KEY"
MIN_CHARS = 32
KEY_FILE = VAR_DIR / "secret_key"


class SecretKeyError(ValueError):
    """NAVIGATOR_SECRET_KEY is set but unusable (too short)."""


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
    """A key for one use, named by `info` (say "navigator sms phone hmac v1")."""
    return _derive(secret_key(), info, length)


def keyed_hash(info: str, value: str) -> str:
    """HMAC-SHA256 of `value` (hex) under the key for `info`: equal values give equal hashes, and
    nobody without the secret can test a guess."""
    return hmac.new(derived_key(info), value.encode(), hashlib.sha256).hexdigest()


def fernet(info: str) -> Fernet:
    """Authenticated encryption (Fernet) under the key for `info`."""
    return Fernet(base64.urlsafe_b64encode(derived_key(info)))
