"""Staffed hours (conversations/shifts.py): reading STAFFED_HOURS, STAFFED_TIMEZONE and
AFTER_HOURS_HANDOFFS (each bad value stops the process with a message naming it), whether an
advocate is on shift at the edges, overnight and over a weekend, the two daylight-saving nights
of America/Chicago, and how a moment is said to a survivor."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conversations import shifts
from conversations.shifts import ShiftState, SpokenTime, parse_hours, parse_schedule

CHICAGO = ZoneInfo("America/Chicago")
UTC = dt.timezone.utc
WEEKDAYS = "Mon-Fri 09:00-17:00; Sat 10:00-14:00"


def local(text: str, zone=CHICAGO) -> dt.datetime:
    """A wall-clock time of the agency: "2024-03-08 16:59" (a Friday)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def state(hours: str, now: dt.datetime, zone: str = "America/Chicago") -> ShiftState:
    return parse_schedule(hours, zone).state(now)


def wall(moment: dt.datetime) -> str:
    """`moment` as the agency's clock shows it, with its offset: "2024-03-11 09:00 -05:00"."""
    return moment.astimezone(CHICAGO).strftime("%Y-%m-%d %H:%M %z")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("STAFFED_HOURS", "STAFFED_TIMEZONE", "AFTER_HOURS_HANDOFFS"):
        monkeypatch.delenv(name, raising=False)


# --- reading the settings ------------------------------------------------------------------

def test_the_default_is_staffed_around_the_clock_in_utc():
    schedule = shifts.schedule()
    assert schedule.always and schedule.timezone == "UTC"
    assert shifts.shift_state() == ShiftState(True, None)
    assert shifts.after_hours_handoffs() == "keep"


@pytest.mark.parametrize("value", ["24/7", "always", " Always ", "ALWAYS", ""])
def test_24_7_and_always_mean_always_on(monkeypatch, value):
    monkeypatch.setenv("STAFFED_HOURS", value)
    assert shifts.schedule().always
    assert shifts.shift_state(utc("2024-03-10 03:00")) == ShiftState(True, None)


@pytest.mark.parametrize("value", ["never", "None", "NEVER"])
def test_never_means_nobody_is_ever_on_shift(monkeypatch, value):
    monkeypatch.setenv("STAFFED_HOURS", value)
    assert shifts.schedule().never
    for moment in (utc("2024-03-11 15:00"), utc("2024-03-10 03:00"), None):
        assert shifts.shift_state(moment) == ShiftState(False, None)


def test_the_environment_is_read_at_each_call(monkeypatch):
    monkeypatch.setenv("STAFFED_HOURS", "never")
    assert not shifts.shift_state().on_shift
    monkeypatch.setenv("STAFFED_HOURS", "24/7")
    assert shifts.shift_state().on_shift


@pytest.mark.parametrize("value, shifts_", [
    ("Mon 09:00-17:00", ((540, 1020),)),
    ("mon 9:00-17:00", ((540, 1020),)),
    ("MONDAY 09:00-17:00", ((540, 1020),)),
    ("Monday: 09:00 - 17:00", ((540, 1020),)),
    ("Mon 09:00\u201317:00", ((540, 1020),)),  # an en dash, as copied from a rota
    ("Mon 09:00-12:00,13:00-17:00", ((540, 720), (780, 1020))),
    ("Mon 09:00-12:00, 12:00-17:00", ((540, 1020),)),  # touching: one shift
    ("Mon 09:00-13:00; Mon 12:00-17:00", ((540, 1020),)),  # overlapping: one shift
    ("Sat,Sun 10:00-14:00", ((7800, 8040), (9240, 9480))),
    ("Tue 00:00-24:00", ((1440, 2880),)),
    ("Mon 22:00-24:00; Tue 00:00-06:00", ((1320, 1800),)),  # midnight joins them
    ("Fri 22:00-06:00", ((7080, 7560),)),  # overnight into Saturday
    ("Sun 22:00-06:00", ((9960, 10440),)),  # overnight into Monday, past the week's end
    ("Sun 22:00-06:00; Mon 06:00-09:00", ((9960, 10620),)),  # joined across the week's end
    ("Fri-Mon 09:00-10:00", ((540, 600), (6300, 6360), (7740, 7800), (9180, 9240))),
    ("Mon-Fri 09:00-17:00;", ((540, 1020), (1980, 2460), (3420, 3900), (4860, 5340), (6300, 6780))),
    ("Mon-Fri 09:00-17:00\nSat 10:00-14:00",
     ((540, 1020), (1980, 2460), (3420, 3900), (4860, 5340), (6300, 6780), (7800, 8040))),
])
def test_days_and_times_are_read_into_joined_shifts(value, shifts_):
    assert parse_hours(value) == ("hours", shifts_)


def test_a_schedule_covering_the_whole_week_is_always_on():
    assert parse_hours("Mon-Sun 00:00-24:00") == ("always", ())
    assert parse_hours("Mon-Sun 12:00-24:00,00:00-12:00") == ("always", ())
    assert parse_hours("Mon-Sun 18:00-09:00; Mon-Sun 09:00-18:00") == ("always", ())


@pytest.mark.parametrize("value, message", [
    ("Mon 09:00-25:00", 'STAFFED_HOURS: "Mon 09:00-25:00": 25:00 is not a time of day'),
    ("Mon 09:60-17:00", 'STAFFED_HOURS: "Mon 09:60-17:00": 09:60 is not a time of day'),
    ("Mon 09:00-24:30", 'STAFFED_HOURS: "Mon 09:00-24:30": 24:30 is not a time of day'),
    ("Mon 9-17", 'STAFFED_HOURS: "Mon 9-17": 9 is not a time like 09:00'),
    ("Mon 9am-5pm", 'STAFFED_HOURS: "Mon 9am-5pm": 9am is not a time like 09:00'),
    ("Mon 09:00", 'STAFFED_HOURS: "Mon 09:00": 09:00 is not a range of times like 09:00-17:00'),
    ("Mon 09:00-17:00,", 'STAFFED_HOURS: "Mon 09:00-17:00,": a range of times is missing (like 09:00-17:00)'),
    ("Mon 24:00-06:00",
     'STAFFED_HOURS: "Mon 24:00-06:00": 24:00 can only end a range; a shift starting at midnight starts at 00:00'),
    ("Mon 09:00-09:00",
     'STAFFED_HOURS: "Mon 09:00-09:00": 09:00-09:00 starts and ends at the same time; '
     'for a whole day write 00:00-24:00'),
    ("Mnday 09:00-17:00", 'STAFFED_HOURS: "Mnday 09:00-17:00": Mnday is not a day of the week'),
    ("Mon-Fri-Sat 09:00-17:00",
     'STAFFED_HOURS: "Mon-Fri-Sat 09:00-17:00": Mon-Fri-Sat is not a day or a range of days like Mon-Fri'),
    ("Mon- 09:00-17:00", 'STAFFED_HOURS: "Mon- 09:00-17:00": a day is missing (like Mon-Fri or Sat,Sun)'),
    ("09:00-17:00", 'STAFFED_HOURS: "09:00-17:00": no days before the times (like Mon-Fri 09:00-17:00)'),
    ("Mon-Fri", 'STAFFED_HOURS: "Mon-Fri": not 24/7, never, or days and times like Mon-Fri 09:00-17:00'),
    ("sometimes", 'STAFFED_HOURS: "sometimes": not 24/7, never, or days and times like Mon-Fri 09:00-17:00'),
    ("Mon-Fri 09:00-17:00; Sat 10:00-25:00", 'STAFFED_HOURS: "Sat 10:00-25:00": 25:00 is not a time of day'),
    (";", 'STAFFED_HOURS: ";": no days and times (like Mon-Fri 09:00-17:00)'),
])
def test_a_bad_staffed_hours_stops_the_process_naming_the_bad_part(monkeypatch, value, message):
    monkeypatch.setenv("STAFFED_HOURS", value)
    with pytest.raises(SystemExit) as stopped:
        shifts.schedule()
    assert str(stopped.value) == message
    assert "\n" not in str(stopped.value)


@pytest.mark.parametrize("value, message", [
    ("America/Chicgo", 'STAFFED_TIMEZONE: "America/Chicgo" is not an IANA time zone like America/Chicago'),
    ("america/chicago", 'STAFFED_TIMEZONE: "america/chicago" is not an IANA time zone; did you mean America/Chicago?'),
    ("/etc/passwd", 'STAFFED_TIMEZONE: "/etc/passwd" is not an IANA time zone like America/Chicago'),
    ("CST-6", 'STAFFED_TIMEZONE: "CST-6" is not an IANA time zone like America/Chicago'),
])
def test_a_bad_time_zone_stops_the_process(monkeypatch, value, message):
    monkeypatch.setenv("STAFFED_TIMEZONE", value)
    with pytest.raises(SystemExit) as stopped:
        shifts.schedule()
    assert str(stopped.value) == message


def test_the_time_zone_is_named_as_set(monkeypatch):
    monkeypatch.setenv("STAFFED_TIMEZONE", " America/Chicago ")
    monkeypatch.setenv("STAFFED_HOURS", WEEKDAYS)
    assert shifts.schedule().timezone == "America/Chicago"
    assert shifts.shift_state(local("2024-03-08 16:00")).until.tzinfo == CHICAGO


@pytest.mark.parametrize("value, expected", [("keep", "keep"), ("drop", "drop"), (" DROP ", "drop"), ("", "keep")])
def test_after_hours_handoffs_is_keep_or_drop(monkeypatch, value, expected):
    monkeypatch.setenv("AFTER_HOURS_HANDOFFS", value)
    assert shifts.after_hours_handoffs() == expected


def test_a_bad_after_hours_handoffs_stops_the_process(monkeypatch):
    monkeypatch.setenv("AFTER_HOURS_HANDOFFS", "discard")
    with pytest.raises(SystemExit) as stopped:
        shifts.after_hours_handoffs()
    assert str(stopped.value) == 'AFTER_HOURS_HANDOFFS: "discard" is not keep or drop'
    with pytest.raises(SystemExit):
        shifts.check()


def test_the_module_is_core_it_imports_nothing_of_the_bot_or_the_console():
    tree = ast.parse(Path(shifts.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {name for name in imported if name.split(".")[0] in ("bot", "console", "rasa", "rasa_sdk")}


# --- on shift or not, and until when --------------------------------------------------------

@pytest.mark.parametrize("now, expected", [
    ("2024-03-08 08:59", (False, "2024-03-08 09:00 -0600")),  # Friday, just before
    ("2024-03-08 09:00", (True, "2024-03-08 17:00 -0600")),   # the first minute is on shift
    ("2024-03-08 16:59", (True, "2024-03-08 17:00 -0600")),
    ("2024-03-08 17:00", (False, "2024-03-09 10:00 -0600")),  # the end is off shift: next is Saturday
    ("2024-03-09 14:00", (False, "2024-03-11 09:00 -0500")),  # Saturday afternoon: Monday, after the DST change
    ("2024-03-10 12:00", (False, "2024-03-11 09:00 -0500")),  # Sunday
])
def test_on_and_off_shift_at_the_edges_and_the_next_start_across_a_weekend(now, expected):
    got = state(WEEKDAYS, local(now))
    assert (got.on_shift, wall(got.until)) == expected


def test_a_moment_within_the_last_minute_is_still_on_shift():
    assert state(WEEKDAYS, local("2024-03-08 16:59:59.999")).on_shift
    assert not state(WEEKDAYS, local("2024-03-08 08:59:59.999")).on_shift


def test_naive_times_are_utc_and_until_is_in_the_agency_zone():
    got = state(WEEKDAYS, dt.datetime(2024, 3, 8, 22, 59))  # 16:59 in Chicago
    assert got.on_shift and got.until == local("2024-03-08 17:00") and got.until.tzinfo == CHICAGO
    assert state(WEEKDAYS, utc("2024-03-08 22:59")) == got


def test_touching_ranges_are_one_shift():
    got = state("Mon 09:00-12:00,12:00-17:00", local("2024-03-11 11:00"))
    assert wall(got.until) == "2024-03-11 17:00 -0500"
    got = state("Mon 09:00-12:00,13:00-17:00", local("2024-03-11 12:30"))
    assert (got.on_shift, wall(got.until)) == (False, "2024-03-11 13:00 -0500")


@pytest.mark.parametrize("now, expected", [
    ("2024-03-15 21:59", (False, "2024-03-15 22:00 -0500")),
    ("2024-03-15 23:30", (True, "2024-03-16 06:00 -0500")),  # Friday night: until Saturday morning
    ("2024-03-16 05:59", (True, "2024-03-16 06:00 -0500")),
    ("2024-03-16 06:00", (False, "2024-03-22 22:00 -0500")),  # next Friday night
])
def test_an_overnight_shift_runs_into_the_next_morning(now, expected):
    got = state("Fri 22:00-06:00", local(now))
    assert (got.on_shift, wall(got.until)) == expected


def test_an_overnight_shift_on_sunday_runs_into_monday_and_joins_its_shift():
    hours = "Sun 22:00-06:00; Mon 06:00-09:00"
    got = state(hours, local("2024-03-17 23:00"))
    assert (got.on_shift, wall(got.until)) == (True, "2024-03-18 09:00 -0500")
    got = state(hours, local("2024-03-18 09:00"))
    assert (got.on_shift, wall(got.until)) == (False, "2024-03-24 22:00 -0500")


def test_weekends_only_and_a_utc_schedule():
    got = state("Sat-Sun 10:00-14:00", utc("2024-03-13 12:00"), "UTC")  # Wednesday
    assert not got.on_shift and got.until == utc("2024-03-16 10:00") and str(got.until.tzinfo) == "UTC"


# --- daylight saving (America/Chicago: forward 2024-03-10 02:00, back 2024-11-03 02:00) ----

def test_spring_forward_a_9_to_5_shift_stays_9_to_5_local():
    hours = "Mon-Sun 09:00-17:00"
    before = state(hours, utc("2024-03-09 23:00"))  # Saturday 17:00 CST
    assert not before.on_shift and wall(before.until) == "2024-03-10 09:00 -0500"
    assert before.until == utc("2024-03-10 14:00")  # 15 h later in real time, not 16
    during = state(hours, utc("2024-03-10 14:00"))
    assert during.on_shift and during.until == utc("2024-03-10 22:00")  # 17:00 CDT
    assert not state(hours, utc("2024-03-10 13:59")).on_shift  # 08:59 CDT


def test_fall_back_a_9_to_5_shift_stays_9_to_5_local():
    hours = "Mon-Sun 09:00-17:00"
    before = state(hours, utc("2024-11-02 23:00"))  # Saturday 18:00 CDT
    assert not before.on_shift and before.until == utc("2024-11-03 15:00")  # 09:00 CST
    during = state(hours, utc("2024-11-03 15:00"))
    assert during.on_shift and during.until == utc("2024-11-03 23:00")
    assert wall(during.until) == "2024-11-03 17:00 -0600"
    assert not state(hours, utc("2024-11-03 14:59")).on_shift  # 08:59 CST
    assert state(hours, utc("2024-11-02 14:00")).on_shift  # Saturday 09:00 CDT


def test_an_overnight_shift_over_the_dst_changes_ends_at_6_local():
    forward = state("Sat 22:00-06:00", local("2024-03-09 23:00"))
    assert forward.on_shift and forward.until == utc("2024-03-10 11:00")  # 06:00 CDT: a 7-hour night
    back = state("Sat 22:00-06:00", local("2024-11-02 23:00"))
    assert back.on_shift and back.until == utc("2024-11-03 12:00")  # 06:00 CST: a 9-hour night


def test_a_shift_starting_in_the_skipped_hour_starts_when_the_clocks_jump():
    got = state("Sun 02:30-05:00", local("2024-03-10 00:00"))
    assert not got.on_shift and got.until == utc("2024-03-10 08:00") and wall(got.until) == "2024-03-10 03:00 -0500"
    skipped = state("Sun 02:15-02:45; Mon 09:00-10:00", local("2024-03-10 00:00"))
    assert wall(skipped.until) == "2024-03-11 09:00 -0500"  # that night it does not happen at all


def test_the_repeated_hour_is_on_or_off_shift_as_its_clock_says():
    # Python never finds a time of the repeated hour equal to one of another zone (PEP 495):
    # compare instants through UTC.
    hours = "Sun 00:00-01:30"
    first = state(hours, utc("2024-11-03 06:10"))  # 01:10 CDT
    assert first.on_shift and first.until.astimezone(UTC) == utc("2024-11-03 06:30")  # 01:30 CDT
    assert wall(first.until) == "2024-11-03 01:30 -0500"
    between = state(hours, utc("2024-11-03 06:40"))  # 01:40 CDT
    assert not between.on_shift  # the clock goes back to 01:00 CST, on shift again
    assert between.until.astimezone(UTC) == utc("2024-11-03 07:00") and wall(between.until) == "2024-11-03 01:00 -0600"
    second = state(hours, utc("2024-11-03 07:10"))  # 01:10 CST
    assert second.on_shift and second.until.astimezone(UTC) == utc("2024-11-03 07:30")
    assert wall(second.until) == "2024-11-03 01:30 -0600"
    def in_utc(got):
        return got.on_shift, got.until.astimezone(UTC)
    assert in_utc(state(hours, local("2024-11-03 01:10").replace(fold=1))) == in_utc(second)  # as the clock shows it
    assert in_utc(state(hours, local("2024-11-03 01:40"))) == in_utc(between)  # fold 0: the first 01:40


# --- how a moment is said ------------------------------------------------------------------

@pytest.mark.parametrize("moment, now, expected", [
    ("2024-03-08 17:00", "2024-03-08 09:00", SpokenTime("today", 5, 0, True)),
    ("2024-03-09 10:30", "2024-03-08 17:00", SpokenTime("tomorrow", 10, 30, False)),
    ("2024-03-11 09:00", "2024-03-09 14:00", SpokenTime("monday", 9, 0, False)),
    ("2024-03-15 09:05", "2024-03-08 17:00", SpokenTime("friday", 9, 5, False)),  # a week on: the weekday
    ("2024-03-12 00:00", "2024-03-11 18:00", SpokenTime("tomorrow", 12, 0, False)),  # midnight: 12 AM
    ("2024-03-11 12:00", "2024-03-11 08:00", SpokenTime("today", 12, 0, True)),  # noon: 12 PM
    ("2024-03-11 00:30", "2024-03-11 00:10", SpokenTime("today", 12, 30, False)),
    ("2024-03-11 23:59", "2024-03-11 23:00", SpokenTime("today", 11, 59, True)),
    ("2024-03-11 13:00", "2024-03-11 08:00", SpokenTime("today", 1, 0, True)),
])
def test_spoken_time_today_tomorrow_weekday_and_12_am_pm(monkeypatch, moment, now, expected):
    monkeypatch.setenv("STAFFED_TIMEZONE", "America/Chicago")
    assert shifts.spoken_time(local(moment), local(now)) == expected


def test_spoken_time_counts_days_in_the_agency_zone_not_utc(monkeypatch):
    monkeypatch.setenv("STAFFED_TIMEZONE", "America/Chicago")
    # 20:00 Friday in Chicago is already Saturday in UTC: 9 AM Saturday is still "tomorrow".
    now = dt.datetime(2024, 3, 9, 2, 0)  # naive: UTC
    assert shifts.spoken_time(utc("2024-03-09 16:00"), now) == SpokenTime("tomorrow", 10, 0, False)
    assert shifts.spoken_time(local("2024-03-09 09:00"), now) == SpokenTime("tomorrow", 9, 0, False)


def test_the_next_shift_is_said_as_the_survivor_will_be_told(monkeypatch):
    monkeypatch.setenv("STAFFED_HOURS", WEEKDAYS)
    monkeypatch.setenv("STAFFED_TIMEZONE", "America/Chicago")
    now = local("2024-03-09 15:00")  # Saturday, after the shift
    off = shifts.shift_state(now)
    assert not off.on_shift
    assert shifts.spoken_time(off.until, now) == SpokenTime("monday", 9, 0, False)
