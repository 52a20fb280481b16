"""Opening hours as a short line a person can read in a text message ("Mon-Fri 9:00-17:00",
"Open 24 hours", or the directory's own description of them), and whether a service is open now.

Plain ASCII hyphens, not en dashes: one non-GSM character turns a whole SMS into UCS-2 and halves
what fits in a segment.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = dict(zip(DAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")))
_WEEKDAY_WORDS = {name.lower(): code for code, name in DAY_NAMES.items()} | {
    "monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH", "friday": "FR",
    "saturday": "SA", "sunday": "SU", "tues": "TU", "thur": "TH", "thurs": "TH",
}
MAX_LENGTH = 100
_TIME = re.compile(r"^\s*(\d{1,2})(?::?(\d{2}))?(?::\d{2}(?:\.\d+)?)?\s*([ap])?\.?\s*m?\.?\s*(?:z|[+-]\d{2}:?\d{2})?\s*$", re.I)


@dataclass(frozen=True)
class ScheduleRow:
    """The schedule fields hours are built from (HSDS 3.0 names)."""

    description: str | None = None
    freq: str | None = None
    byday: str | None = None
    opens_at: str | None = None
    closes_at: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    notes: str | None = None


def parse_time(text: str | None) -> tuple[int, int] | None:
    """"09:00", "9:00:00", "17:00-07:00", "09:00Z", "9am", "4:00 PM" -> (hour, minute)."""
    if not text:
        return None
    m = _TIME.match(text)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    meridiem = (m.group(3) or "").lower()
    if meridiem == "p" and hour < 12:
        hour += 12
    elif meridiem == "a" and hour == 12:
        hour = 0
    if hour > 24 or minute > 59:
        return None
    return hour, minute


def _days(byday: str | None) -> list[str]:
    """"MO,TU,WE" (or "1MO" in a monthly rule, or "Monday") -> day codes in week order."""
    found = set()
    for part in re.split(r"[,\s]+", (byday or "").strip()):
        part = re.sub(r"^[+-]?\d+", "", part).strip().lower()
        code = part.upper() if part.upper() in DAYS else _WEEKDAY_WORDS.get(part)
        if code:
            found.add(code)
    return [d for d in DAYS if d in found]


def format_days(days: list[str]) -> str:
    """Day codes as "Mon-Fri", "Mon, Wed, Fri", "Sat, Sun" or "Daily"."""
    if len(days) == 7:
        return "Daily"
    runs: list[list[str]] = []
    for d in days:
        if runs and DAYS.index(d) == DAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}")
        else:
            parts.extend(DAY_NAMES[d] for d in run)
    return ", ".join(parts)


def _clock(t: tuple[int, int]) -> str:
    return f"{t[0]}:{t[1]:02d}"


def _valid_today(row: ScheduleRow, today: date) -> bool:
    for text, ok in ((row.valid_from, lambda d: d <= today), (row.valid_to, lambda d: d >= today)):
        if text:
            try:
                if not ok(date.fromisoformat(text[:10])):
                    return False
            except ValueError:
                pass
    return True


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LENGTH else text[:MAX_LENGTH - 3].rstrip() + "..."


def describe_hours(rows: list[ScheduleRow], today: date | None = None) -> str | None:
    """A short human line for a service's schedule rows, or None when the hours are unknown."""
    rows = [r for r in rows if _valid_today(r, today or date.today())]
    descriptions = list(dict.fromkeys(" ".join(r.description.split()) for r in rows if r.description))
    if descriptions:
        return _shorten("; ".join(descriptions))
    by_hours: dict[tuple, set[str]] = {}
    for r in rows:
        opens, closes = parse_time(r.opens_at), parse_time(r.closes_at)
        if not opens or not closes:
            continue
        days = _days(r.byday) or (list(DAYS) if (r.freq or "").upper() in ("DAILY", "") else [])
        if days:
            by_hours.setdefault((opens, closes), set()).update(days)
    if not by_hours:
        return None
    for (opens, closes), days in by_hours.items():
        if len(days) == 7 and opens == (0, 0) and closes in ((23, 59), (24, 0), (0, 0)):
            return "Open 24 hours"
    parts = []
    for (opens, closes), days in sorted(by_hours.items(), key=lambda kv: min(DAYS.index(d) for d in kv[1])):
        parts.append(f"{format_days([d for d in DAYS if d in days])} {_clock(opens)}-{_clock(closes)}")
    return _shorten(", ".join(parts))


# --- open now -------------------------------------------------------------------------------------

_ROUND_THE_CLOCK = re.compile(
    r"\b24\s*(?:/|x)\s*7\b|\b24\s*(?:hours?|hrs?)\s*(?:a|per|each|every)\s*day\b|\b24\s*(?:hours?|hrs?),?\s*7\s*days"
    r"|\b(?:open|available|staffed|answered)\s*(?:all\s*day,?\s*)?24\s*(?:hours?|hrs?)\b"
    r"|\b24[\s-]*hours?\s*(?:hotline|helpline|crisis|line)|round the clock|around the clock|always open", re.I)


def _minutes(t: tuple[int, int]) -> int:
    return t[0] * 60 + t[1]


def open_at(rows: list[ScheduleRow], moment: datetime) -> bool | None:
    """Whether a service with these schedule rows is open at `moment` (a time in its own time zone).

    True for "24 hours"/"24/7" services and inside a weekly opening (overnight ones too: a Friday
    20:00-08:00 row is open early on Saturday); False when the rows give weekly hours and none is
    open now; None when the hours are unknown or only described in words.
    """
    today = moment.date()
    rows = [r for r in rows if _valid_today(r, today)]
    if any(_ROUND_THE_CLOCK.search(" ".join(filter(None, (r.description, r.notes)))) for r in rows):
        return True
    day = DAYS[moment.weekday()]
    yesterday = DAYS[(moment.weekday() - 1) % 7]
    now = moment.hour * 60 + moment.minute
    structured = False
    covered: set[str] = set()
    for r in rows:
        opens, closes = parse_time(r.opens_at), parse_time(r.closes_at)
        if not opens or not closes:
            continue
        days = _days(r.byday) or (list(DAYS) if (r.freq or "").upper() in ("DAILY", "") else [])
        if not days:
            continue
        structured = True
        start, end = _minutes(opens), _minutes(closes)
        if end in (23 * 60 + 59, 0) and start == 0:
            covered.update(days)
            end = 24 * 60
        if end > start:
            if day in days and start <= now < end:
                return True
        else:  # overnight: open from `start` until `end` the next morning
            if (day in days and now >= start) or (yesterday in days and now < end):
                return True
    if len(covered) == 7:
        return True
    return False if structured else None
