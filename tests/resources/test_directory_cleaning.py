"""The small clean-ups real exports need: languages, web addresses, times, ages, garbled punctuation."""
from datetime import datetime

import pytest

from resources.importers.cleaning import age_range, fix_prose, normalise_time, normalise_url
from resources.search.hours import ScheduleRow, open_at
from resources.taxonomy.languages import language_code, parse_language_codes, parse_languages


@pytest.mark.parametrize("text, expected", [
    ("Spanish (limited)", [("es", "Spanish")]),
    ("English and Spanish", [("en", "English"), ("es", "Spanish")]),
    ("Creole", [("ht", "Haitian Creole")]),
    ("Chinese (Cantonese), Tagalog", [("zh", "Chinese"), ("tl", "Tagalog")]),
    ("ASL (intermediate)", [("ase", "American Sign Language")]),
    ("Español", [("es", "Spanish")]),
    ("other languages available upon request", [(None, "other languages available upon request")]),
    ("", []),
])
def test_free_text_languages(text, expected):
    assert [(f.code, f.name) for f in parse_languages(text)] == expected


def test_language_codes_and_lookups():
    assert [f.code for f in parse_language_codes("en, es")] == ["en", "es"]
    assert (language_code("spa"), language_code("Farsi"), language_code("xx")) == ("es", "fa", None)
    assert parse_languages("may be available")[0].code is None  # "may" is not Malay


@pytest.mark.parametrize("text, expected", [
    ("www.example.org", "https://www.example.org"),
    ("example.org/help", "https://example.org/help"),
    ("http://example.org", "http://example.org"),
    ("https//example.org", "https://example.org"),
    ("help.example.org\\\\kids\\\\", "https://help.example.org/kids/"),
    ("info@example.org", None),
    ("call us", None),
])
def test_web_addresses(text, expected):
    assert normalise_url(text)[0] == expected


@pytest.mark.parametrize("text, expected", [
    ("9:00am", "09:00"), ("5:00pm", "17:00"), ("4:00 PM", "16:00"), ("3pm", "15:00"), ("12:00pm", "12:00"),
    ("12am", "00:00"), ("17:00:00", "17:00"), ("noon", None), ("", None),
])
def test_times(text, expected):
    assert normalise_time(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Age 55 or over for most programs, age 60 or over for lunch program", (55, None)),
    ("Youth ages 12-17", (12, 17)),
    ("Children under 18", (None, 17)),
    ("Adults 18 and older", (18, None)),
    ("over the age of 21", (21, None)),
    ("Call 24 hours a day; over 20 years of experience", None),
    ("Low-income families", None),
])
def test_ages_stated_in_eligibility(text, expected):
    assert age_range(text) == expected


def test_prose_fixes():
    assert fix_prose("8:30amGÇô3:00pm\\nMon") == "8:30am-3:00pm\nMon"
    assert fix_prose("Women\\GÇÖs shelter".replace("\\", "")) == "Women's shelter"


@pytest.mark.parametrize("rows, when, expected", [
    ([ScheduleRow(byday="MO,TU,WE,TH,FR", opens_at="09:00", closes_at="17:00")], datetime(2024, 5, 6, 10), True),
    ([ScheduleRow(byday="MO,TU,WE,TH,FR", opens_at="09:00", closes_at="17:00")], datetime(2024, 5, 6, 17), False),
    ([ScheduleRow(byday="MO,TU,WE,TH,FR", opens_at="09:00", closes_at="17:00")], datetime(2024, 5, 4, 10), False),
    ([ScheduleRow(byday="FR", opens_at="20:00", closes_at="08:00")], datetime(2024, 5, 4, 7, 30), True),
    ([ScheduleRow(freq="WEEKLY", byday="MO,TU,WE,TH,FR,SA,SU", opens_at="00:00", closes_at="23:59")],
     datetime(2024, 5, 4, 23, 59), True),
    ([ScheduleRow(description="Mobile team: 24 hours a day, 7 days a week")], datetime(2024, 5, 4, 3), True),
    ([ScheduleRow(description="Call 24 hours in advance")], datetime(2024, 5, 4, 3), None),
    ([ScheduleRow(byday="MO", opens_at="09:00", closes_at="17:00", valid_to="2020-01-01")], datetime(2024, 5, 6, 10),
     None),
    ([], datetime(2024, 5, 6, 10), None),
])
def test_open_at(rows, when, expected):
    assert open_at(rows, when) is expected
