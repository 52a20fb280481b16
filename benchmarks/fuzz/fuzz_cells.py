"""Fuzz the importer's field parsers: what `navigator import-hsds` reads from one CSV or JSON cell.
Opening hours and schedules (resources.search.hours, HSDS 1.x weekly rows in resources.importers.records_builder),
times, web addresses, prose, ages (resources.importers.cleaning), languages, taxonomy terms and kinds
(resources.taxonomy.kinds).

    .venv/bin/python benchmarks/fuzz/fuzz_cells.py -max_total_time=300

Allowed outcomes: a value of the documented shape, None, a skipped row, or UnknownKindError from
normalize_kind.
"""
from datetime import datetime, timedelta

import atheris
import harness  # noqa: F401  (first: sys.path, defaults)

with harness.instrumented():
    from resources.importers.cleaning import age_range, fix_prose, normalise_time, normalise_url
    from resources.importers.hsds_records import SOURCE
    from resources.importers.records_builder import WEEKDAYS, RecordsBuilder, term_code, weekday_code
    from resources.search.hours import ScheduleRow, describe_hours, open_at, parse_time
    from resources.taxonomy.kinds import KINDS, TermInfo, UnknownKindError, classify_term, keyword_kinds, normalize_kind
    from resources.taxonomy.languages import parse_language_codes, parse_languages

EPOCH = datetime(2024, 1, 1)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    cell = harness.text(fdp, 200)
    parsed = parse_time(cell)
    assert parsed is None or (0 <= parsed[0] <= 24 and 0 <= parsed[1] <= 59), parsed
    normalise_time(cell)
    normalise_url(cell)
    fix_prose(cell)
    age_range(cell)
    parse_languages(cell)
    parse_language_codes(cell)
    term_code(cell)
    assert weekday_code(cell) in (*WEEKDAYS, None)
    try:
        assert normalize_kind(cell) in KINDS
    except UnknownKindError:
        pass
    rows = [ScheduleRow(*(harness.maybe_text(fdp, 30) for _ in range(8))) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    moment = EPOCH + timedelta(minutes=fdp.ConsumeIntInRange(0, 60 * 24 * 366))
    line = describe_hours(rows, today=moment.date())
    assert line is None or len(line) <= 100
    assert open_at(rows, moment) in (True, False, None)
    builder = RecordsBuilder("fuzz", None)
    builder.add_weekly_schedule({"weekday": harness.maybe_text(fdp, 12), "opens_at": harness.maybe_text(fdp, 12),
                                 "closes_at": harness.maybe_text(fdp, 12), "original_text": harness.maybe_text(fdp),
                                 "id": harness.maybe_text(fdp, 8), SOURCE: "fuzz line 1"},
                                {"service_id": harness.maybe_text(fdp, 8)})
    builder.add_languages(harness.maybe_text(fdp), {"service_id": "s1"}, "fuzz line 1", codes=fdp.ConsumeBool())
    term = TermInfo(harness.text(fdp, 8) or "t", harness.maybe_text(fdp, 24), harness.maybe_text(fdp, 40),
                    harness.maybe_text(fdp, 8), harness.maybe_text(fdp, 20))
    assert set(classify_term(term).kinds) <= set(KINDS)
    assert set(keyword_kinds(cell)) <= set(KINDS)


if __name__ == "__main__":
    harness.fuzz(one_input)
