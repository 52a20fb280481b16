"""The directory's CLI commands (CONTRACT.md, "CLI"): `import-hsds`, `search` and `stats`.

Each calls the same functions as the bot and the console (`import_hsds`, `search_near`,
`directory_stats`), so what the command shows is what a survivor would get.
"""
from __future__ import annotations

import argparse
import json
import sys

EXIT_IMPORT_FAILED = 1
EXIT_BAD_REQUEST = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import-hsds", help="import an Open Referral HSDS directory into DATABASE_URL",
        description="Insert or update (by id) every usable row of an HSDS 3.0 CSV datapackage folder, in one "
                    "transaction. Prints rows imported per table and each skipped row with its reason.")
    p.add_argument("path", metavar="PATH", help="folder with datapackage.json and/or the HSDS CSV files")
    p.add_argument("--json", action="store_true", help="print the import report as JSON")
    p.set_defaults(handler=import_hsds_command)

    s = subparsers.add_parser(
        "search", help="the search the bot runs: services of a kind near a place",
        description="Active services of KIND nearest to PLACE (a ZIP code, a city or \"city, state\").")
    s.add_argument("--kind", required=True, metavar="KIND", help="shelter, mental_health, substance_use or legal")
    s.add_argument("--near", required=True, metavar="PLACE", help='ZIP code, city, or "city, state"')
    s.add_argument("--limit", type=int, default=3, metavar="N", help="how many results (default 3)")
    s.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N results")
    s.add_argument("--json", action="store_true", help="print a JSON list, nearest first")
    s.set_defaults(handler=search_command)

    st = subparsers.add_parser("stats", help="what the directory holds: counts per table and per kind")
    st.add_argument("--json", action="store_true", help="print a JSON object")
    st.set_defaults(handler=stats_command)


def _error(command: str, message: str) -> None:
    print(f"navigator {command}: error: {message}", file=sys.stderr)


def _directory_engine():
    """The DATABASE_URL engine, with the directory's tables created if this is a new database."""
    from navigator.db import get_engine
    from resources.models import create_directory_tables

    engine = get_engine()
    create_directory_tables(engine)
    return engine


# --- import-hsds ----------------------------------------------------------------------------------

def import_hsds_command(args: argparse.Namespace) -> int:
    from navigator.db import create_schema, get_engine
    from resources.hsds_import import HsdsImportError, import_hsds

    from sqlalchemy.exc import SQLAlchemyError

    try:
        create_schema()
        report = import_hsds(args.path, get_engine())
    except (HsdsImportError, SQLAlchemyError) as e:
        _error("import-hsds", f"{e}\nThe directory was not changed.")
        return EXIT_IMPORT_FAILED
    if args.json:
        print(json.dumps(report.to_dict(), indent=1, default=str))
    else:
        print(format_import_report(report))
    return 0


def format_import_report(report) -> str:
    lines = [f"Imported {report.path} ({report.format}, dataset {report.dataset!r}):"]
    for table, n in report.imported.items():
        lines.append(f"  {table:<20} {n:>7}  ({report.inserted.get(table, 0)} new, "
                     f"{report.updated.get(table, 0)} updated)")
    if report.skipped:
        lines.append(f"Skipped {len(report.skipped)} row(s):")
        lines += [f"  {s}" for s in report.skipped]
    if report.warnings:
        lines.append(f"Kept with a field cleared or cut ({len(report.warnings)}):")
        lines += [f"  {w}" for w in report.warnings]
    if report.notes:
        lines.append("Notes:")
        lines += [f"  {n}" for n in report.notes]
    lines.append("Services per kind: " + ", ".join(f"{k} {n}" for k, n in report.kinds.items()))
    lines.append(f"Done: {report.imported.get('service', 0)} services imported, {len(report.skipped)} row(s) skipped.")
    return "\n".join(lines)


# --- search ---------------------------------------------------------------------------------------

def search_command(args: argparse.Namespace) -> int:
    from navigator.db import session_scope
    from resources.kinds import UnknownKindError, normalize_kind
    from resources.search import UnknownPlaceError, resolve_place, search_services

    if args.limit < 1 or args.offset < 0:
        _error("search", "--limit must be at least 1 and --offset at least 0")
        return EXIT_BAD_REQUEST
    try:
        kind = normalize_kind(args.kind)
        place = resolve_place(args.near)
    except (UnknownKindError, UnknownPlaceError) as e:
        _error("search", str(e))
        return EXIT_BAD_REQUEST
    with session_scope(_directory_engine()) as session:
        results = search_services(session, kind, place, limit=args.limit, offset=args.offset)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=1))
        return 0
    title = kind.replace("_", " ")
    if not results:
        print(f"No active {title} services within 400 km of {place.label}.")
        return 0
    print(f"{title.capitalize()} near {place.label}, nearest first:")
    for i, r in enumerate(results, 1 + args.offset):
        print(f"{i:>3}. {r.name}{' [demo]' if r.is_demo else ''}  ({r.distance_km:g} km)")
        print(f"     phone: {r.phone or 'none listed'}")
        if r.hours:
            print(f"     hours: {r.hours}")
        print(f"     address: {r.address or ('confidential' if r.confidential_location else 'not listed')}")
    return 0


# --- stats ----------------------------------------------------------------------------------------

def stats_command(args: argparse.Namespace) -> int:
    from navigator.db import session_scope
    from resources.stats import directory_stats

    with session_scope(_directory_engine()) as session:
        stats = directory_stats(session)
    if args.json:
        print(json.dumps(stats, indent=1))
        return 0
    for key, value in stats.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, n in value.items():
                print(f"  {k:<16} {n}")
        else:
            print(f"{key:<27} {value}")
    return 0
