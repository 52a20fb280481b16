"""Configuration from the environment, with the embedded single-machine defaults of CONTRACT.md.

Every process (Rasa, the action server, the console, the CLI) reads its settings here, so that a
relative SQLite path means the same file whichever directory a process was started from.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from infra.sms_charset import outside_gsm7

ROOT = Path(__file__).resolve().parents[1]
VAR_DIR = ROOT / "var"
# The variable that gives the console the path of `navigator serve`'s StatusFile (/healthz shows it).
STATUS_FILE_VARIABLE = "NAVIGATOR_STATUS_FILE"
BUILD_DIR = ROOT / "build"

DEFAULT_DATABASE_URL = "sqlite:///var/navigator.db"
DEFAULT_TRACKER_STORE_URL = "sqlite:///var/tracker.db"
DEFAULT_PORTS = {"RASA_PORT": 5005, "ACTION_PORT": 5055, "CONSOLE_PORT": 5006}
ENVIRONMENTS = ("development", "production")


def absolute_sqlite_url(url: str) -> str:
    """Resolve a relative SQLite path against the project root; other URLs pass unchanged."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(ROOT / url[len(prefix):])
    return url


def database_url() -> str:
    """The directory / handoff / account database (`DATABASE_URL`)."""
    return absolute_sqlite_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)


def uses_embedded_database() -> bool:
    """True when no `DATABASE_URL` is set: the embedded default, the only place demo rows may go."""
    return not os.environ.get("DATABASE_URL")


def tracker_store_url() -> str:
    """Rasa's SQL tracker store (`TRACKER_STORE_URL`)."""
    return absolute_sqlite_url(os.environ.get("TRACKER_STORE_URL") or DEFAULT_TRACKER_STORE_URL)


def lock_store_url() -> str | None:
    """Redis URL of Rasa's lock store, or None for the in-memory lock store."""
    return os.environ.get("LOCK_STORE_URL") or None


def port(name: str) -> int:
    """Port of one of the three processes: RASA_PORT, ACTION_PORT or CONSOLE_PORT."""
    value = os.environ.get(name) or str(DEFAULT_PORTS[name])
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a port number, not {value!r}") from None


def number_setting(name: str, default: float, minimum: float = 0,
                   environ: Mapping[str, str] | None = None) -> float:
    """The number in the environment variable `name` (`default` when unset or empty). A value that
    is not a number, or is below `minimum`, stops the process saying which variable and why: a
    limit or budget misread as something else would protect nobody."""
    raw = (os.environ if environ is None else environ).get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must not be negative, not {raw!r}" if minimum == 0
                         else f"{name} must be at least {minimum}, not {raw!r}")
    return value


def is_production() -> bool:
    """NAVIGATOR_ENV=production: secrets must be configured (infra.production). Unset or
    `development`: the single-machine defaults, secrets generated in var/. Any other value
    stops the process, so that a typo never turns the production checks off."""
    value = (os.environ.get("NAVIGATOR_ENV") or "development").strip().lower()
    if value not in ENVIRONMENTS:
        raise SystemExit(f"NAVIGATOR_ENV must be production or development, not {value!r}")
    return value == "production"


CONFIDENTIALITY_TEXT_MAX = 200


def confidentiality_text() -> str | None:
    """The agency's own words on what it keeps confidential and the limits of that
    (`CONFIDENTIALITY_TEXT`), said instead of the domain's default (`utter_part_confidentiality`);
    the assistant always adds that nobody has to report anything to get help. None when unset.
    Words that an SMS cannot carry in one piece stop the process, with what is wrong."""
    text = " ".join((os.environ.get("CONFIDENTIALITY_TEXT") or "").split())
    if not text:
        return None
    if len(text) > CONFIDENTIALITY_TEXT_MAX:
        raise SystemExit(f"CONFIDENTIALITY_TEXT has {len(text)} characters; at most {CONFIDENTIALITY_TEXT_MAX} "
                         "fit in one text with the sentence the assistant adds")
    if outside_gsm7(text):
        raise SystemExit(f"CONFIDENTIALITY_TEXT has characters a text message cannot carry as plain SMS: "
                         f"{outside_gsm7(text)!r} (use straight quotes, no emoji)")
    return text
