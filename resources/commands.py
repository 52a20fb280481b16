"""The directory's CLI commands (CONTRACT.md, "CLI"): `import-hsds`, `search`, `stats`, and the
operator's helpers `national-lines` and `reindex`.

Each calls the same functions as the bot and the console (`import_hsds`, `search_services`,
`directory_stats`, `national_lines`), so what the command shows is what a survivor would get.
"""
from __future__ import annotations

import argparse
import json
import sys
from itertools import groupby

from sqlalchemy.exc import SQLAlchemyError

from infra.db import get_engine, session_scope
from resources.importers.hsds_import import HsdsImportError, import_hsds, reindex_directory
from resources.importers.progress import progress_for
from resources.models import create_directory_tables
from resources.search import index as _search_index  # noqa: F401 (its listener builds the search index with the tables)
from resources.search.nearby import MAX_RADIUS_KM, resolve_place, search_services
from resources.stats import directory_stats
from resources.taxonomy.kinds import normalize_kind
from resources.taxonomy.national_lines import national_lines

EXIT_IMPORT_FAILED = 1
EXIT_BAD_REQUEST = 2
REPORT_WARNINGS_SHOWN = 20  # the rest are in --json
SKIPPED_ROWS_LISTED = 10  # a larger group of rows skipped for one reason is listed by line number


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import-hsds", help="import an Open Referral HSDS directory into DATABASE_URL",
        description="Insert or update (by id) every usable row of an Open Referral directory export, in one "
                    "transaction: an HSDS 3.0, 2.0 or 1.x CSV folder (with or without datapackage.json), an HSDS "
                    "3.0 JSON file or folder, or an Ohana CSV folder. Prints rows imported per table and each "
                    "skipped row with its reason. Unreadable input changes nothing and exits 1.")
    p.add_argument("path", metavar="PATH", help="the export's folder, its datapackage.json, or an HSDS 3.0 JSON file")
    p.add_argument("--json", action="store_true", help="print the import report as JSON")
    p.add_argument("--encoding", default="utf-8", metavar="NAME",
                   help="text encoding of the files (default utf-8; e.g. cp1252 for Windows 'ANSI' exports)")
    p.add_argument("--id-prefix", metavar="PREFIX",
                   help="prefix every id of this export (e.g. 'miami:'), to keep exports that number their rows "
                        "1, 2, 3... apart; use the same prefix on every re-import")
    p.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    p.set_defaults(handler=import_hsds_command, needs_schema=True)  # navigator.cli creates the schema first

    s = subparsers.add_parser(
        "search", help="the search the bot runs: services of a kind near a place",
        description="Active services of KIND nearest to PLACE (a ZIP code, a city or \"city, state\").")
    s.add_argument("--kind", required=True, metavar="KIND", help="shelter, mental_health, substance_use or legal")
    s.add_argument("--near", required=True, metavar="PLACE", help='ZIP code, city, or "city, state"')
    s.add_argument("--limit", type=int, default=3, metavar="N", help="how many results (default 3)")
    s.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N results (the next page)")
    s.add_argument("--radius-km", type=float, metavar="KM", help="how far to look (default 400 km)")
    s.add_argument("--open-now", action="store_true", help="only services open now, in their own time zone")
    s.add_argument("--language", metavar="LANG", help="only services in this language (name or ISO code)")
    s.add_argument("--age", type=int, metavar="YEARS", help="only services whose age limits include this age")
    s.add_argument("--tag", action="append", default=[], metavar="TAG",
                   help="only services with this tag (repeatable): takes_children, takes_pets, serves_men, "
                        "lgbtq_friendly, no_ice_contact, t_u_visa_help, free_or_sliding_scale, domestic_violence, "
                        "trafficking, sexual_assault, crisis, ...")
    s.add_argument("--json", action="store_true", help="print a JSON list, nearest first")
    s.set_defaults(handler=search_command)

    st = subparsers.add_parser("stats", help="what the directory holds: counts per table, kind, tag and export")
    st.add_argument("--json", action="store_true", help="print a JSON object")
    st.set_defaults(handler=stats_command)

    nl = subparsers.add_parser("national-lines", help="the national 24/7 lines offered for each kind")
    nl.add_argument("--kind", metavar="KIND", help="only this kind's lines")
    nl.add_argument("--json", action="store_true", help="print a JSON list")
    nl.set_defaults(handler=national_lines_command)

    r = subparsers.add_parser("reindex", help="recompute every service's kinds, tags and search index",
                              description="Run after changing the rules in resources/taxonomy/data/ (kind_map.csv, "
                                          "kind_keywords.csv, tag_map.csv, tag_keywords.csv).")
    r.set_defaults(handler=reindex_command)


def _error(command: str, message: str) -> None:
    print(f"navigator {command}: error: {message}", file=sys.stderr)


def _directory_engine():
    """The DATABASE_URL engine, with the directory's tables created if this is a new database."""
    engine = get_engine()
    create_directory_tables(engine)
    return engine


# --- import-hsds ----------------------------------------------------------------------------------

def import_hsds_command(args: argparse.Namespace) -> int:

    try:
        report = import_hsds(args.path, get_engine(), encoding=args.encoding, id_prefix=args.id_prefix,
                             progress=progress_for(sys.stderr, False if args.no_progress else None))
    except (HsdsImportError, SQLAlchemyError) as e:
        _error("import-hsds", f"{e}\nThe directory was not changed.")
        return EXIT_IMPORT_FAILED
    if args.json:
        print(json.dumps(report.to_dict(), indent=1, default=str))
    else:
        print(format_import_report(report))
    return 0


def _line_numbers(sources: list[str]) -> str:
    numbers = [s.rsplit(" line ", 1)[-1] for s in sources]
    return ", ".join(numbers)


def format_import_report(report) -> str:
    lines = [f"Imported {report.path} ({report.format}, dataset {report.dataset!r}):"]
    for table, n in report.imported.items():
        lines.append(f"  {table:<20} {n:>7}  ({report.inserted.get(table, 0)} new, "
                     f"{report.updated.get(table, 0)} updated)")
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)} row(s):")

        def group_key(s):
            return s.source.rsplit(" line ", 1)[0], s.reason

        for (file, reason), group in groupby(sorted(report.skipped, key=group_key), key=group_key):
            group = list(group)
            if len(group) <= SKIPPED_ROWS_LISTED:
                lines += [f"  {s}" for s in group]
            else:
                lines.append(f"  {file}, {len(group)} rows: {reason}; lines {_line_numbers([s.source for s in group])}")
    if report.warnings:
        lines.append(f"Kept with a field cleared or cut ({len(report.warnings)}):")
        lines += [f"  {w}" for w in report.warnings[:REPORT_WARNINGS_SHOWN]]
        if len(report.warnings) > REPORT_WARNINGS_SHOWN:
            lines.append(f"  ... and {len(report.warnings) - REPORT_WARNINGS_SHOWN} more (all of them with --json)")
    if report.notes:
        lines.append("Notes:")
        lines += [f"  {n}" for n in report.notes]
    lines.append("Services per kind: " + ", ".join(f"{k} {n}" for k, n in report.kinds.items()))
    if report.tags:
        lines.append("Services per tag: " + ", ".join(f"{k} {n}" for k, n in report.tags.items()))
    lines.append(f"Done: {report.imported.get('service', 0)} services imported, {len(report.skipped)} row(s) skipped.")
    return "\n".join(lines)


# --- search ---------------------------------------------------------------------------------------

def search_command(args: argparse.Namespace) -> int:
    if args.limit < 1 or args.offset < 0:
        _error("search", "--limit must be at least 1 and --offset at least 0")
        return EXIT_BAD_REQUEST
    try:
        kind = normalize_kind(args.kind)
        place = resolve_place(args.near)
        with session_scope(_directory_engine()) as session:
            results = search_services(session, kind, place, limit=args.limit, offset=args.offset,
                                      radius_km=args.radius_km, open_now=args.open_now, language=args.language,
                                      age=args.age, tags=args.tag)
    except ValueError as e:  # unknown kind, place, language or tag; impossible age or radius
        _error("search", str(e))
        return EXIT_BAD_REQUEST
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
        return 0
    title = kind.replace("_", " ")
    if not results:
        print(f"No active {title} services within {args.radius_km or MAX_RADIUS_KM:g} km of {place.label}"
              f"{' that match' if args.open_now or args.language or args.age is not None or args.tag else ''}.")
        print("National lines, 24/7:")
        for line in national_lines(kind):
            print(f"  {_format_line(line)}")
        return 0
    print(f"{title.capitalize()} near {place.label}, nearest first:")
    for i, r in enumerate(results, 1 + args.offset):
        status = {True: " (open now)", False: " (closed now)"}.get(r.open_now, "")
        print(f"{i:>3}. {r.name}{' [demo]' if r.is_demo else ''}  ({r.distance_km:g} km){status}")
        print(f"     phone: {r.phone or 'none listed'}")
        if r.hours:
            print(f"     hours: {r.hours}")
        print(f"     address: {r.address or ('confidential' if r.confidential_location else 'not listed')}")
        if r.languages:
            print(f"     languages: {', '.join(r.languages)}")
        if r.tags:
            print(f"     tags: {', '.join(r.tags)}")
    return 0


def _format_line(line) -> str:
    """"National Domestic Violence Hotline: call 1-800-799-7233, text START to 88788 (24/7)"."""
    ways = [w for w in (f"call {line.phone}" if line.phone else "", f"text {line.text}" if line.text else "") if w]
    return f"{line.name}: {', '.join(ways)} ({line.hours})"


# --- stats, national-lines, reindex ---------------------------------------------------------------

def stats_command(args: argparse.Namespace) -> int:
    with session_scope(_directory_engine()) as session:
        stats = directory_stats(session)
    if args.json:
        print(json.dumps(stats, indent=1))
        return 0

    def show(data: dict, indent: str = "") -> None:
        for key, value in data.items():
            if isinstance(value, dict):
                print(f"{indent}{key}:")
                show(value, indent + "  ")
            else:
                print(f"{indent}{key:<{30 - len(indent)}} {value}")

    show(stats)
    return 0


def national_lines_command(args: argparse.Namespace) -> int:
    try:
        lines = national_lines(args.kind)
    except ValueError as e:
        _error("national-lines", str(e))
        return EXIT_BAD_REQUEST
    if args.json:
        print(json.dumps([line.to_dict() for line in lines], indent=1))
        return 0
    for kind, group in groupby(lines, key=lambda line: line.kind):
        print(f"{kind}:")
        for line in group:
            print(f"  {_format_line(line)}")
    return 0


def reindex_command(args: argparse.Namespace) -> int:
    counts = reindex_directory(_directory_engine(), progress_for(sys.stderr))
    print("Reindexed. Services per kind: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
    return 0
