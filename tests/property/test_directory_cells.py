"""Whatever a directory export puts in a cell, the importer's field parsers answer a value of the
documented shape or "unknown" (None, a note, a skipped row): never a crash, which would stop the
whole import of an agency's directory over one odd cell. The only error a parser may raise is the
one it documents (UnknownKindError for a kind that is none of KINDS)."""
from __future__ import annotations

import math
import re
from datetime import datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.pool import StaticPool

from navigator.schema import create_schema
from resources.importers.cleaning import age_range, fix_prose, normalise_time, normalise_url
from resources.importers.directory_writer import DirectoryWriter
from resources.importers.hsds_records import SOURCE, DirectoryRecords, ImportReport, TableRecords
from resources.importers.records_builder import WEEKDAYS, RecordsBuilder, slug, term_code, weekday_code
from resources.models import Location, Service
from resources.search.hours import MAX_LENGTH, ScheduleRow, describe_hours, open_at, parse_time
from resources.taxonomy.kinds import KINDS, TermInfo, UnknownKindError, classify_term, keyword_kinds, normalize_kind
from resources.taxonomy.languages import parse_language_codes, parse_languages
from tests.property.strategies import CELL_WORDS, PARSERS, any_text

CELL = any_text(CELL_WORDS, huge=500)
MAYBE_CELL = st.one_of(st.none(), CELL)


@PARSERS
@given(MAYBE_CELL)
def test_a_time_is_an_hour_and_minute_or_none(text):
    parsed = parse_time(text)
    if parsed is not None:
        hour, minute = parsed
        assert 0 <= hour <= 24 and 0 <= minute <= 59
    normalised = normalise_time(text)
    assert normalised is None or re.fullmatch(r"\d\d:\d\d", normalised)


schedule_rows = st.builds(ScheduleRow, description=MAYBE_CELL, freq=MAYBE_CELL, byday=MAYBE_CELL,
                          opens_at=MAYBE_CELL, closes_at=MAYBE_CELL, valid_from=MAYBE_CELL, valid_to=MAYBE_CELL,
                          notes=MAYBE_CELL)


@PARSERS
@given(st.lists(schedule_rows, max_size=4), st.datetimes(min_value=datetime(1900, 1, 1)))
@example([ScheduleRow(byday="MO,TU", opens_at="20:00", closes_at="08:00", valid_from="2024-13-01")],
         datetime(2024, 5, 7, 3, 0))
def test_hours_are_one_short_line_and_open_now_is_yes_no_or_unknown(rows, moment):
    line = describe_hours(rows, today=moment.date())
    assert line is None or (isinstance(line, str) and 0 < len(line) <= MAX_LENGTH)
    assert open_at(rows, moment) in (True, False, None)


@PARSERS
@given(MAYBE_CELL)
@example("\u00b2")  # a superscript two: str.isdigit() says yes, int() says no
@example("\u2466")  # a circled seven, likewise
def test_a_weekday_cell_is_a_day_code_or_none(text):
    assert weekday_code(text) in (*WEEKDAYS, None)


@PARSERS
@given(st.fixed_dictionaries({"weekday": MAYBE_CELL, "opens_at": MAYBE_CELL, "closes_at": MAYBE_CELL,
                              "original_text": MAYBE_CELL, "id": MAYBE_CELL, "service_id": MAYBE_CELL}))
@example({"weekday": "\u00b2", "opens_at": "9", "closes_at": "5", "original_text": None, "id": None,
          "service_id": "s1"})
def test_a_weekly_schedule_row_is_kept_or_skipped_with_a_reason(row):
    builder = RecordsBuilder("test", None)
    builder.add_weekly_schedule({**row, SOURCE: "regular_schedules.csv line 2"},
                                {"service_id": row["service_id"]})
    kept = builder.rows["schedule"]
    assert len(kept) + len(builder.skipped) == 1
    for schedule in kept:
        assert schedule["byday"] in (*WEEKDAYS, None)
        assert schedule["description"] or (schedule["opens_at"] and schedule["closes_at"])


@PARSERS
@given(MAYBE_CELL)
@example("www.example.org/a//b")
@example("http:/example.org")
@example("someone@example.org")
def test_a_web_address_is_https_or_a_problem_to_report(text):
    url, problem = normalise_url(text)
    if url is not None:
        assert problem is None and re.match(r"https?://\S+$", url)
    elif text and text.strip():
        assert isinstance(problem, str) and problem


@PARSERS
@given(MAYBE_CELL)
def test_prose_is_trimmed_text_or_none(text):
    fixed = fix_prose(text)
    assert fixed in (None, "") or fixed == fixed.strip()


@PARSERS
@given(MAYBE_CELL)
@example("ages 12-17, under 18, 55 or over")
def test_ages_stated_in_eligibility_text_are_whole_numbers(text):
    found = age_range(text)
    if found is not None:
        assert all(v is None or isinstance(v, int) for v in found)


@PARSERS
@given(MAYBE_CELL)
def test_languages_in_a_cell_are_names_with_codes_or_kept_as_written(text):
    for lang in parse_languages(text) + parse_language_codes(text):
        assert lang.name and (lang.code is None or lang.code.strip())


@PARSERS
@given(MAYBE_CELL)
def test_taxonomy_ids_and_slugs(text):
    code = term_code(text)
    assert code is None or code == text
    assert re.fullmatch(r"[a-z0-9-]{1,80}", slug(text or ""))


@PARSERS
@given(CELL)
@example("Mental-Health")
@example(" legal ")
def test_a_kind_is_one_of_kinds_or_the_documented_error(text):
    try:
        assert normalize_kind(text) in KINDS
    except UnknownKindError as error:
        assert "unknown kind" in str(error)


@PARSERS
@given(st.builds(TermInfo, id=CELL.filter(bool), code=MAYBE_CELL, name=MAYBE_CELL, parent_id=MAYBE_CELL,
                 taxonomy_name=st.one_of(st.none(), st.sampled_from(["AIRS", "211", "Open Eligibility"]), CELL)))
@example(TermInfo("t1", "BH-1800.1500-100", "Domestic Violence Shelters", None, None))
@example(TermInfo("t2", "-.-", None, None, "airs"))
def test_a_taxonomy_term_gives_known_kinds_or_none(term):
    match = classify_term(term)
    assert set(match.kinds) <= set(KINDS)
    assert set(keyword_kinds(" ".join(filter(None, (term.name, term.code))))) <= set(KINDS)



@pytest.fixture(scope="module")
def directory_engine():
    engine = create_engine("sqlite://", future=True, poolclass=StaticPool, connect_args={"check_same_thread": False})
    create_schema(engine)
    yield engine
    engine.dispose()


NUMBER = st.one_of(MAYBE_CELL, st.integers().map(str), st.floats().map(str),
                   st.sampled_from(["1e30", "99999999999999999999", "-2147483649", "1,5", "nan", "-91"]))


@PARSERS
@given(st.fixed_dictionaries({"minimum_age": NUMBER, "maximum_age": NUMBER, "eligibility_description": MAYBE_CELL,
                              "status": MAYBE_CELL}),
       st.fixed_dictionaries({"latitude": NUMBER, "longitude": NUMBER}))
@example({"minimum_age": "1e30", "maximum_age": None, "eligibility_description": None, "status": "active"},
         {"latitude": "37.5", "longitude": "-122.3"})
def test_numbers_in_a_service_and_location_are_stored_or_cleared_with_a_warning(directory_engine, service, location):
    """An age of 1e30 once stopped the whole import with an OverflowError (and on PostgreSQL, any
    age past 2**31 with a database error): one odd cell must cost only that value."""
    records = DirectoryRecords("test", "test")
    for table, row in (("service", {"id": "s1", "name": "Shelter", **service}),
                       ("location", {"id": "l1", "name": "Site", **location})):
        records.tables[table] = TableRecords(table, tuple(row), [{**row, SOURCE: f"{table}.csv line 2"}], table)
    with directory_engine.connect() as conn:
        transaction = conn.begin()
        try:
            report = ImportReport("test", "test", "test")
            DirectoryWriter(conn, report).write(records)
            stored = conn.execute(select(Service.minimum_age, Service.maximum_age)).one()
            lat, lon = conn.execute(select(Location.latitude, Location.longitude)).one()
        finally:
            transaction.rollback()
    assert all(age is None or -2**31 < age < 2**31 for age in stored)
    if lat is not None and lon is not None:  # a location is searchable only with both
        assert math.isfinite(lat) and -90 <= lat <= 90 and math.isfinite(lon) and -180 <= lon <= 180
