"""Staffed hours: when an advocate is on shift to answer a survivor who asks for a person.

Agencies are not staffed around the clock. A survivor who writes at 3 a.m. and is told "it may
take a few minutes" waits for nobody, alone, at the worst time to be let down. With the hours
known, the bot can say honestly that nobody is on shift now, when the next shift starts, and
give the 24/7 lines meanwhile; and the console shows advocates what survivors are being told.

Configured from the environment, read at each call (parsing is cached per value):

| variable | meaning | default |
|---|---|---|
| `STAFFED_HOURS` | when advocates are on shift, weekly, in the agency's local time: `24/7` (or `always`), `never` (or `none`: every handoff waits for review), or days and times like `Mon-Fri 09:00-17:00; Sat 10:00-14:00` | `24/7` |
| `STAFFED_TIMEZONE` | the agency's IANA time zone, like `America/Chicago`: set it, or the hours are read as UTC | `UTC` |
| `AFTER_HOURS_HANDOFFS` | `keep`: a request for a person made out of hours waits in the queue for the next shift; `drop`: it is not kept, and the survivor is asked to write again when the shift starts. Emergencies are always kept. | `keep` |

`STAFFED_HOURS` is a list of `DAYS TIMES` separated by `;`. DAYS is a day (`Mon`, `monday`: full
or 3-letter names, in any case), a range of days (`Mon-Fri`, `Fri-Mon` runs over the weekend) or
several of them separated by commas (`Sat,Sun`). TIMES is one range or several separated by
commas (`09:00-12:00,13:00-17:00`), as `9:00` or `09:00`, with `24:00` as an end. A range that
ends before it starts runs overnight into the next day (`Fri 22:00-06:00` ends on Saturday
morning). Ranges that touch or overlap join into one shift.

The hours are wall-clock hours of the agency's zone, as a rota is written: a 09:00-17:00 shift
is 09:00-17:00 local on both sides of a daylight-saving change (`zoneinfo`, the IANA database;
the `tzdata` package supplies it where the system has none). On the night the clocks go forward,
a shift that would start in the skipped hour starts when the clocks have jumped; on the night
they go back, the repeated hour is on shift or off as its wall-clock time says.

A bad value stops the process with one line naming the variable and the bad part, as the other
settings do: a navigator that guessed the hours would tell survivors something untrue.

Nothing here says anything to a survivor: `spoken_time` gives the parts of a moment (day, hour,
AM/PM) and the words live in domain.yml, where they are reviewed and translated.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import re
import zoneinfo
from typing import Optional, Tuple

DEFAULT_HOURS = "24/7"
DEFAULT_TIMEZONE = "UTC"
KEEP, DROP = "keep", "drop"

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # datetime.weekday() order
_DAY_NUMBERS = {**{name: i for i, name in enumerate(DAYS)}, **{name[:3]: i for i, name in enumerate(DAYS)}}
_ALWAYS = ("24/7", "always")
_NEVER = ("never", "none")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-"})  # en and em dashes, minus: copied rotas


@dataclasses.dataclass(frozen=True)
class ShiftState:
    """Whether an advocate is on shift, and until when: the end of the current shift when on
    shift, the start of the next one when off (aware, in the agency's zone); None when staffed
    24/7 (always on) or `never` (always off). Compare `until` with times of other zones in UTC
    (`until.astimezone(timezone.utc)`): Python never finds a time in the hour repeated when the
    clocks go back equal to a time of another zone (PEP 495)."""

    on_shift: bool
    until: Optional[dt.datetime]


@dataclasses.dataclass(frozen=True)
class SpokenTime:
    """How to say a moment to a survivor ("tomorrow at 9 AM"), as parts for domain.yml's words:
    `day` is "today", "tomorrow" or, beyond, the weekday's name ("monday" ... "sunday"), relative
    to now in the agency's zone; `hour` 1-12 and `pm` as a clock is read aloud (midnight is 12 AM,
    noon 12 PM)."""

    day: str
    hour: int
    minute: int
    pm: bool


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The weekly staffed hours in the agency's zone. `kind` is "always", "never" or "hours";
    for "hours", `shifts` are the joined shifts as (start, end) minutes of the week from Monday
    00:00 local, start in [0, 10080), end after start and at most a week later (a shift past
    Sunday midnight ends in the next week's minutes)."""

    kind: str
    shifts: Tuple[Tuple[int, int], ...]
    timezone: str
    zone: dt.tzinfo = dataclasses.field(compare=False, repr=False)

    @property
    def always(self) -> bool:
        return self.kind == "always"

    @property
    def never(self) -> bool:
        return self.kind == "never"

    def on_shift(self, now: Optional[dt.datetime] = None) -> bool:
        if self.kind != "hours":
            return self.always
        return self._staffed_at(_aware(now))

    def state(self, now: Optional[dt.datetime] = None) -> ShiftState:
        """On shift or not at `now`, and until when (see ShiftState)."""
        if self.kind != "hours":
            return ShiftState(self.always, None)
        now = _aware(now)
        on = self._staffed_at(now)
        for moment in self._changes_after(now):
            if self._staffed_at(moment) != on:
                return ShiftState(on, moment.astimezone(self.zone))
        raise AssertionError("a weekly schedule with shifts changes within 8 days")  # pragma: no cover

    def spoken(self, moment: dt.datetime, now: Optional[dt.datetime] = None) -> SpokenTime:
        """`moment` as a survivor is told it (see SpokenTime), in the agency's zone."""
        local = _aware(moment).astimezone(self.zone)
        days_ahead = (local.date() - _aware(now).astimezone(self.zone).date()).days
        day = "today" if days_ahead == 0 else "tomorrow" if days_ahead == 1 else DAYS[local.weekday()]
        return SpokenTime(day=day, hour=local.hour % 12 or 12, minute=local.minute, pm=local.hour >= 12)

    # A shift is a range of wall-clock time, so whether someone is on shift is read from the local
    # clock; when that changes is found among the few moments it can change: the instants the
    # clock shows a shift's start or end, and the daylight-saving changes next to them.

    def _staffed_at(self, moment: dt.datetime) -> bool:
        local = moment.astimezone(self.zone)
        minute = (local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
                  + (local.second + local.microsecond / 1e6) / 60)
        return any(start <= minute < end or start <= minute + MINUTES_PER_WEEK < end for start, end in self.shifts)

    def _changes_after(self, now: dt.datetime):
        """Every instant after `now`, in order, over the next 8 days, at which the staffed state
        may change."""
        boundaries = sorted({edge % MINUTES_PER_WEEK for shift in self.shifts for edge in shift})
        today = now.astimezone(self.zone).date()
        instants = set()
        for offset in range(-1, 9):
            date = today + dt.timedelta(days=offset)
            midnight = dt.datetime.combine(date, dt.time())
            for edge in boundaries:
                if edge // MINUTES_PER_DAY == date.weekday():
                    instants.update(_instants_of(midnight + dt.timedelta(minutes=edge % MINUTES_PER_DAY), self.zone))
        return sorted(i for i in instants if i > now)


def _instants_of(wall: dt.datetime, zone: dt.tzinfo) -> set:
    """The UTC instants at which the clock of `zone` shows `wall` (naive local time): one, two
    when the clocks go back (plus the change itself, when the clock jumps back over `wall`), or,
    in an hour skipped when they go forward, the instant of the jump."""
    early = wall.replace(tzinfo=zone, fold=0).astimezone(dt.timezone.utc)
    late = wall.replace(tzinfo=zone, fold=1).astimezone(dt.timezone.utc)
    if early == late:
        return {early}
    change = _offset_change(min(early, late), max(early, late), zone)
    shown = {i for i in (early, late) if i.astimezone(zone).replace(tzinfo=None) == wall}
    return shown | {change}


def _offset_change(before: dt.datetime, after: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The first whole second in (before, after] with the UTC offset `after` has: the instant
    the clocks change (zones change on whole seconds)."""
    def offset(second: int):
        return dt.datetime.fromtimestamp(second, dt.timezone.utc).astimezone(zone).utcoffset()

    low, high = int(before.timestamp()), int(after.timestamp())
    target = offset(high)
    while high - low > 1:
        middle = (low + high) // 2
        if offset(middle) == target:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, dt.timezone.utc)


def _aware(moment: Optional[dt.datetime]) -> dt.datetime:
    """`moment` in UTC: now when None, naive meaning UTC (the database's times). In UTC, instants
    compare as instants, the repeated hour's too (see ShiftState)."""
    if moment is None:
        return dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


# --- parsing -----------------------------------------------------------------------------

class _Bad(ValueError):
    """One part of STAFFED_HOURS that cannot be read; the message says which and why."""


def parse_hours(text: str) -> Tuple[str, Tuple[Tuple[int, int], ...]]:
    """("always" | "never" | "hours", joined shifts) of a STAFFED_HOURS value; SystemExit with
    the variable and the bad part when it cannot be read."""
    value = (text or "").strip()
    if not value or value.lower() in _ALWAYS:
        return "always", ()
    if value.lower() in _NEVER:
        return "never", ()
    ranges = []
    for item in value.replace("\n", ";").split(";"):
        item = item.strip()
        if not item:
            continue
        try:
            ranges.extend(_parse_item(item.translate(_DASHES)))
        except _Bad as problem:
            raise SystemExit(f'STAFFED_HOURS: "{item}": {problem}') from None
    if not ranges:
        raise SystemExit(f'STAFFED_HOURS: "{value}": no days and times (like Mon-Fri 09:00-17:00)')
    shifts = _join(ranges)
    if any(end - start >= MINUTES_PER_WEEK for start, end in shifts):
        return "always", ()  # every minute of the week is covered
    return "hours", shifts


def _parse_item(item: str):
    found = re.match(r"([^\d]*?)\s*(\d.*)?$", item, re.DOTALL)
    days_text, times_text = found.group(1).strip().rstrip(":").strip(), (found.group(2) or "").strip()
    if not times_text:
        raise _Bad("not 24/7, never, or days and times like Mon-Fri 09:00-17:00")
    if not days_text:
        raise _Bad("no days before the times (like Mon-Fri 09:00-17:00)")
    days = _parse_days(days_text)
    times = [_parse_range(part.strip()) for part in times_text.split(",")]
    return [(day * MINUTES_PER_DAY + start, day * MINUTES_PER_DAY + end) for day in days for start, end in times]


def _parse_days(text: str) -> list:
    days = []
    for part in text.split(","):
        ends = [_day(name.strip()) for name in part.split("-")]
        if len(ends) == 1:
            days.append(ends[0])
        elif len(ends) == 2:
            first, last = ends
            days.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            raise _Bad(f"{part.strip()} is not a day or a range of days like Mon-Fri")
    return days


def _day(name: str) -> int:
    number = _DAY_NUMBERS.get(name.lower())
    if number is None:
        raise _Bad(f"{name} is not a day of the week" if name else "a day is missing (like Mon-Fri or Sat,Sun)")
    return number


def _parse_range(text: str) -> Tuple[int, int]:
    """(start, end) minutes from the day's midnight; an end before the start is the next day's."""
    parts = [p.strip() for p in text.split("-")]
    if len(parts) != 2 or not all(parts):
        raise _Bad(f"{text} is not a range of times like 09:00-17:00" if text
                   else "a range of times is missing (like 09:00-17:00)")
    start, end = (_minutes(p) for p in parts)
    if start == MINUTES_PER_DAY:
        raise _Bad(f"{parts[0]} can only end a range; a shift starting at midnight starts at 00:00")
    if start == end:
        raise _Bad(f"{text} starts and ends at the same time; for a whole day write 00:00-24:00")
    if end < start:
        end += MINUTES_PER_DAY  # overnight, into the next day
    return start, end


def _minutes(text: str) -> int:
    found = _TIME.fullmatch(text)
    if not found:
        raise _Bad(f"{text} is not a time like 09:00")
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise _Bad(f"{text} is not a time of day")
    return hour * 60 + minute


def _join(ranges) -> Tuple[Tuple[int, int], ...]:
    """Ranges (minutes of the week, possibly past its end) joined where they touch or overlap,
    across Sunday midnight too."""
    spans = sorted((start % MINUTES_PER_WEEK, start % MINUTES_PER_WEEK + end - start) for start, end in ranges)
    joined = []
    for start, end in spans:
        if joined and start <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    # A shift running past Sunday midnight can reach the first ones of the week.
    while len(joined) > 1 and joined[-1][1] >= joined[0][0] + MINUTES_PER_WEEK:
        first = joined.pop(0)
        joined[-1][1] = max(joined[-1][1], first[1] + MINUTES_PER_WEEK)
    return tuple((start, min(end, start + MINUTES_PER_WEEK)) for start, end in joined)


def parse_timezone(name: str) -> Tuple[str, dt.tzinfo]:
    """(name, zone) of a STAFFED_TIMEZONE value; SystemExit naming it when it is not a zone."""
    name = (name or "").strip() or DEFAULT_TIMEZONE
    try:
        return name, zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    if name.upper() == "UTC":  # no time zone database at all: UTC needs none
        return "UTC", dt.timezone.utc
    known = zoneinfo.available_timezones()
    alike = [key for key in known if key.lower() == name.lower()]
    hint = (f"; did you mean {alike[0]}?" if alike else " like America/Chicago" if known else
            " (this machine has no time zone database: install the tzdata package)")
    raise SystemExit(f'STAFFED_TIMEZONE: "{name}" is not an IANA time zone{hint}')


def parse_schedule(hours: str = DEFAULT_HOURS, timezone: str = DEFAULT_TIMEZONE) -> Schedule:
    """A Schedule from the values of STAFFED_HOURS and STAFFED_TIMEZONE (SystemExit when bad)."""
    return _parse_schedule((hours or "").strip(), (timezone or "").strip())


@functools.lru_cache(maxsize=16)
def _parse_schedule(hours: str, timezone: str) -> Schedule:
    kind, shifts = parse_hours(hours)
    name, zone = parse_timezone(timezone)
    return Schedule(kind=kind, shifts=shifts, timezone=name, zone=zone)


# --- the interface -------------------------------------------------------------------------

def schedule() -> Schedule:
    """The staffed hours of STAFFED_HOURS in STAFFED_TIMEZONE, as the environment says now (a
    change of either is seen at the next call); SystemExit naming the variable when bad. Call it
    once at start-up so that a bad value stops the process before any survivor is answered."""
    return parse_schedule(os.environ.get("STAFFED_HOURS", ""), os.environ.get("STAFFED_TIMEZONE", ""))


def shift_state(now: Optional[dt.datetime] = None) -> ShiftState:
    """Whether an advocate is on shift at `now` (aware, or naive meaning UTC; default now), and
    until when (see ShiftState)."""
    return schedule().state(now)


def after_hours_handoffs() -> str:
    """What happens to a request for a person made out of hours (`AFTER_HOURS_HANDOFFS`): "keep"
    (the default: it waits in the queue for the next shift) or "drop" (it is not kept, and the
    survivor is asked to write again when the shift starts). Emergencies are kept either way."""
    raw = os.environ.get("AFTER_HOURS_HANDOFFS", "").strip()
    value = raw.lower() or KEEP
    if value not in (KEEP, DROP):
        raise SystemExit(f'AFTER_HOURS_HANDOFFS: "{raw}" is not keep or drop')
    return value


def spoken_time(moment: dt.datetime, now: Optional[dt.datetime] = None) -> SpokenTime:
    """`moment` (aware, or naive meaning UTC) as a survivor is told it, relative to `now` (default
    now) in the agency's zone (see SpokenTime)."""
    return schedule().spoken(moment, now)


def check() -> None:
    """Read every setting of this module; SystemExit with the first bad one (for start-up)."""
    schedule()
    after_hours_handoffs()
