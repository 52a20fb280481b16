"""Production mode (`NAVIGATOR_ENV=production`): a process refuses to start while a secret is
missing or left to its development default, with one line per problem and exit status 2.

Outside production the navigator makes its own secrets (var/secret_key, var/rasa_api_token), so
that `make run` works on a fresh machine. On a real server those would be secrets nobody chose,
backs up or can rotate, so in production each must come from the environment:
- `NAVIGATOR_SECRET_KEY`, at least 32 characters (infra.secret_key seals survivors' numbers);
- `RASA_API_TOKEN`, at least 32 characters (it guards Rasa's HTTP API; the file in var/ is not used);
- `TWILIO_AUTH_TOKEN` when `TWILIO_ACCOUNT_SID` is set, and `TWILIO_WEBHOOK_URL` an https URL
  (without them no webhook can be verified, and texts would cross the internet in clear);
- `CONSOLE_PUBLIC_URL` an https URL (advocates' alerts link to it), and `CONSOLE_COOKIE_SECURE`
  not `false` (in production `auto` means Secure: behind a TLS proxy the console sees plain HTTP);
- how clients' addresses are known: Sanic's proxy setting (`SANIC_PROXIES_COUNT`, a whole number
  of proxies of at least 1, or `SANIC_REAL_IP_HEADER`, or `SANIC_FORWARDED_SECRET`), or
  `NAVIGATOR_NO_PROXY=1` saying clients connect to the navigator directly. Behind a proxy
  without the setting every request seems to come from the proxy, so one guesser would lock
  everyone's sign-in (console/auth.py) and one flood would fill everyone's rate limits; with
  both set, a client with no proxy in front could forge X-Forwarded-For and count as anyone.
The console signs nothing with a secret: its sessions and CSRF tokens are random values, kept
hashed in the database (console/sessions.py), so there is no default secret of its own to check.

The same check runs in every process that can start alone: `navigator serve`, the console
(`python -m console`) and the Rasa server (its entry navigator/rasa_server.py, bot/channels/server_policy.py).
"""
from __future__ import annotations

import os
import sys
from typing import List, Mapping
from urllib.parse import urlsplit

from infra import config
from infra.secret_key import ENV_NAME as SECRET_KEY_NAME
from infra.secret_key import MIN_CHARS

NEW_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
PROXY_SETTINGS = ("SANIC_PROXIES_COUNT", "SANIC_REAL_IP_HEADER", "SANIC_FORWARDED_SECRET")
NO_PROXY = "NAVIGATOR_NO_PROXY"


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
    found.extend(_proxy_problems(env))
    return found


def _proxy_problems(env: Mapping[str, str]) -> List[str]:
    """Whether the processes can tell clients' addresses apart (see the module docstring)."""
    proxied = [name for name in PROXY_SETTINGS if (env.get(name) or "").strip()]
    count = (env.get("SANIC_PROXIES_COUNT") or "").strip()
    if count and not (count.isdigit() and int(count) >= 1):
        return [f"SANIC_PROXIES_COUNT is {count!r}; set it to the number of proxies in front of the navigator "
                "(usually 1), or unset it"]
    direct = (env.get(NO_PROXY) or "").strip().lower()
    if direct and direct not in ("1", "true", "yes"):
        return [f"{NO_PROXY} is {direct!r}; set it to 1 when clients connect to the navigator directly, or unset it"]
    if proxied and direct:
        return [f"{NO_PROXY} and {proxied[0]} are both set; with no proxy in front a client could forge "
                f"its address, so unset the one that is not true"]
    if not proxied and not direct:
        return ["no proxy setting: behind a reverse proxy every client would seem to be the proxy, so one "
                "address could lock every advocate's sign-in and fill the rate limits; set SANIC_PROXIES_COUNT "
                "to the number of proxies in front (usually 1; or SANIC_REAL_IP_HEADER to the header the proxy "
                f"sets), or {NO_PROXY}=1 if clients connect to the navigator directly"]
    return []


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
