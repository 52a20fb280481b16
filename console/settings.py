"""The console's settings, from the environment (all optional; the defaults suit one machine).

| variable | meaning | default |
|---|---|---|
| `HANDOFF_UNCLAIMED_MINUTES` | minutes before a survivor whose handoff nobody claimed is told so and given the 24/7 lines | 5 |
| `CONSOLE_COOKIE_SECURE` | `auto` (Secure when the request came over HTTPS, always in production mode), `true` or `false` | auto |
| `CONSOLE_SESSION_IDLE_MINUTES` / `CONSOLE_SESSION_HOURS` | sign-out after so long idle / in any case | 30 / 12 |
| `CONSOLE_LOCKOUT_ATTEMPTS` / `CONSOLE_LOCKOUT_ADDRESS_ATTEMPTS` / `CONSOLE_LOCKOUT_MINUTES` | failed sign-ins of one name from one address / from one address for any names that lock that pair / that address for so many minutes (never a name alone: console.accounts) | 5 / 20 / 15 |
| `CONSOLE_SIGN_IN_SLOW_AFTER` / `CONSOLE_SIGN_IN_MAX_DELAY_SECONDS` | failed sign-ins of one name from anywhere after which each attempt for it waits 1, 2, 4 ... seconds / at most | 5 / 10 |
| `CONSOLE_RASA_URL` | Rasa's HTTP API | http://127.0.0.1:$RASA_PORT |
| `RASA_API_TOKEN` | its token (`navigator serve` passes it) | var/rasa_api_token |
| `CONSOLE_WATCH_URLS` | other processes `/healthz` checks: `name=url,...`, each must answer 200 (`navigator serve` sets the Rasa server and the action server) | none: the database only |
| `NAVIGATOR_STATUS_FILE` | set by `navigator serve`: its status file, whose restarting processes and restart counts `/healthz` shows | none |
| `RATE_LIMIT_SIGN_IN_PER_MINUTE` / `_BURST` | sign-in attempts per address (infra.rate_limits) | 10 / 10 |
| `RATE_LIMIT_CONSOLE_API_PER_MINUTE` / `_BURST` | `/api/` requests per address | 120 / 60 |

In production mode (`NAVIGATOR_ENV=production`) the console does not start without its secrets
(infra.production).

Behind a reverse proxy, set Sanic's `SANIC_PROXIES_COUNT` (or `SANIC_REAL_IP_HEADER`) so the
lock-out and the rate limits see advocates' addresses and `auto` and HSTS see HTTPS; production
mode does not start without it, or `NAVIGATOR_NO_PROXY=1` saying clients connect directly.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os

from console.accounts import LockoutPolicy
from console.sessions import SessionPolicy
from conversations import shifts
from infra import config, production
from infra.config import STATUS_FILE_VARIABLE, number_setting
from infra.secret_key import rasa_api_token


@dataclasses.dataclass(frozen=True)
class Settings:
    unclaimed_after: dt.timedelta
    cookie_secure: str  # auto | true | false
    sessions: SessionPolicy
    lockout: LockoutPolicy
    rasa_url: str
    rasa_token: str
    poll_seconds: int = 5
    watched: tuple = ()  # (name, url) of the processes /healthz also checks
    status_file: str = ""  # navigator serve's status file (restarts), when it started the console

    @property
    def unclaimed_check_seconds(self) -> float:
        """How often to look for unclaimed handoffs: often enough to be on time, never busy."""
        return min(15.0, max(0.5, self.unclaimed_after.total_seconds() / 4))


def lockout_policy() -> LockoutPolicy:
    return LockoutPolicy(per_pair=int(number_setting("CONSOLE_LOCKOUT_ATTEMPTS", 5, 1)),
                         per_address=int(number_setting("CONSOLE_LOCKOUT_ADDRESS_ATTEMPTS", 20, 1)),
                         minutes=number_setting("CONSOLE_LOCKOUT_MINUTES", 15, 0.01),
                         slow_after=int(number_setting("CONSOLE_SIGN_IN_SLOW_AFTER", 5, 1)),
                         max_delay_seconds=number_setting("CONSOLE_SIGN_IN_MAX_DELAY_SECONDS", 10, 0))


def load() -> Settings:
    """Read and check every setting; a bad value stops the console with a clear message."""
    production.exit_if_unsafe("console")
    shifts.check()  # the queue shows the shift, and the unclaimed notice depends on it
    secure = (os.environ.get("CONSOLE_COOKIE_SECURE") or "auto").strip().lower()
    if secure not in ("auto", "true", "false"):
        raise SystemExit(f"CONSOLE_COOKIE_SECURE must be auto, true or false, not {secure!r}")
    if secure == "auto" and config.is_production():
        secure = "true"  # behind the TLS proxy every request looks like plain HTTP
    return Settings(
        unclaimed_after=dt.timedelta(minutes=number_setting("HANDOFF_UNCLAIMED_MINUTES", 5, 0.01)),
        cookie_secure=secure,
        sessions=SessionPolicy(idle=dt.timedelta(minutes=number_setting("CONSOLE_SESSION_IDLE_MINUTES", 30, 1)),
                               lifetime=dt.timedelta(hours=number_setting("CONSOLE_SESSION_HOURS", 12, 0.1))),
        lockout=lockout_policy(),
        rasa_url=(os.environ.get("CONSOLE_RASA_URL") or f"http://127.0.0.1:{config.port('RASA_PORT')}").rstrip("/"),
        rasa_token=rasa_api_token(),
        watched=watched_urls(os.environ.get("CONSOLE_WATCH_URLS", "")),
        status_file=os.environ.get(STATUS_FILE_VARIABLE, ""),
    )


def watched_urls(raw: str) -> tuple:
    """`name=url,name=url` as ((name, url), ...); a malformed entry stops the console."""
    watched = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        name, _, url = entry.partition("=")
        if not name.strip() or not url.strip().startswith(("http://", "https://")):
            raise SystemExit(f"CONSOLE_WATCH_URLS takes name=http://host:port/path entries, not {entry!r}")
        watched.append((name.strip(), url.strip()))
    return tuple(watched)
