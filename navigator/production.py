"""Production mode (`NAVIGATOR_ENV=production`): a process refuses to start while a secret is
missing or left to its development default, with one line per problem and exit status 2.

Outside production the navigator makes its own secrets (var/secret_key, var/rasa_api_token), so
that `make run` works on a fresh machine. On a real server those would be secrets nobody chose,
backs up or can rotate, so in production each must come from the environment:
- `NAVIGATOR_SECRET_KEY`, at least 32 characters (navigator.secret_key seals survivors' numbers);
- `RASA_API_TOKEN`, at least 32 characters (it guards Rasa's HTTP API; the file in var/ is not used);
- `TWILIO_AUTH_TOKEN` when `TWILIO_ACCOUNT_SID` is set, and `TWILIO_WEBHOOK_URL` an https URL
  (without them no webhook can be verified, and texts would cross the internet in clear);
- `CONSOLE_PUBLIC_URL` an https URL (advocates' alerts link to it), and `CONSOLE_COOKIE_SECURE`
  not `false` (in production `auto` means Secure: behind a TLS proxy the console sees plain HTTP).
The console signs nothing with a secret: its sessions and CSRF tokens are random values, kept
hashed in the database (console/sessions.py), so there is no default secret of its own to check.

The same check runs in every process that can start alone: `navigator serve`, the console
(`python -m console`) and the Rasa server (through its channels, bot/channels/server_policy.py).
"""
from __future__ import annotations

import os
import sys
from typing import List, Mapping
from urllib.parse import urlsplit

from navigator import config
from navigator.secret_key import ENV_NAME as SECRET_KEY_NAME, MIN_CHARS

NEW_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'


def problems(env: Mapping[str, str] = os.environ) -> List[str]:
    """What keeps `env` from being a production configuration, one sentence each."""
    found = []
    for name in (SECRET_KEY_NAME, "RASA_API_TOKEN"):
        value = env.get(name) or ""
        if not value:
            found.append(f"{name} is not set; set it to a random secret of at least {MIN_CHARS} characters "
                         f"({NEW_SECRET})")
        elif len(value) < MIN_CHARS:
            found.append(f"{name} has {len(value)} characters; it needs at least {MIN_CHARS} ({NEW_SECRET})")
    if env.get("TWILIO_ACCOUNT_SID"):
        if not env.get("TWILIO_AUTH_TOKEN"):
            found.append("TWILIO_AUTH_TOKEN is not set while TWILIO_ACCOUNT_SID is; set the account's auth token")
        if not _https(env.get("TWILIO_WEBHOOK_URL")):
            found.append("TWILIO_WEBHOOK_URL is not an https:// URL; set the public URL of the SMS webhook")
    if not _https(env.get("CONSOLE_PUBLIC_URL")):
        found.append("CONSOLE_PUBLIC_URL is not an https:// URL; set the address advocates open the console at")
    if (env.get("CONSOLE_COOKIE_SECURE") or "").strip().lower() == "false":
        found.append("CONSOLE_COOKIE_SECURE is false; the console's session cookie must be Secure (unset it)")
    return found


def _https(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme == "https" and bool(parts.netloc)


def exit_if_unsafe(process: str) -> None:
    """In production mode, stop `process` (one line per problem on stderr, exit status 2)
    unless every secret is configured; outside production, do nothing."""
    if not config.is_production():
        return
    found = problems()
    for problem in found:
        print(f"{process}: not starting in production mode: {problem}", file=sys.stderr, flush=True)
    if found:
        raise SystemExit(2)
