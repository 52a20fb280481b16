"""Opening hours as one short line."""
from datetime import date

from resources.search.hours import ScheduleRow, describe_hours, parse_time


def test_weekday_ranges_and_single_days():
    rows = [ScheduleRow(byday="MO,TU,WE,TH,FR", opens_at="09:00", closes_at="17:00"),
            ScheduleRow(byday="SA", opens_at="10:00:00", closes_at="2pm")]
    assert describe_hours(rows) == "Mon-Fri 9:00-17:00, Sat 10:00-14:00"
    assert describe_hours([ScheduleRow(byday="MO,WE,FR", opens_at="9am", closes_at="4:00 PM")]) == \
        "Mon, Wed, Fri 9:00-16:00"


def test_round_the_clock():
    assert describe_hours([ScheduleRow(byday="MO,TU,WE,TH,FR,SA,SU", opens_at="00:00",
                                       closes_at="23:59")]) == "Open 24 hours"


def test_description_wins_and_long_text_is_cut_for_sms():
    assert describe_hours([ScheduleRow(description="  Weekdays   9 to 5 ", byday="MO", opens_at="1",
                                       closes_at="2")]) == "Weekdays 9 to 5"
    long = describe_hours([ScheduleRow(description="Open " + "and more " * 40)])
    assert len(long) <= 100 and long.endswith("...")


def test_unknown_or_expired_hours_are_none():
    assert describe_hours([]) is None
    assert describe_hours([ScheduleRow(byday="MO", opens_at="soon", closes_at="late")]) is None
    expired = ScheduleRow(byday="MO", opens_at="09:00", closes_at="17:00", valid_to="2020-01-01")
    assert describe_hours([expired], today=date(2024, 1, 1)) is None


def test_time_formats_seen_in_real_exports():
    assert parse_time("17:00-07:00") == (17, 0)
    assert parse_time("09:30Z") == (9, 30)
    assert parse_time("12am") == (0, 0)
    assert parse_time("3pm") == (15, 0)
    assert parse_time("nonsense") is None
