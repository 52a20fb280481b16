"""The directory benchmark: for 1k, 10k and 100k generated services, the time `import_hsds` takes into
a fresh database and the in-process latency (p50/p95) of `search_services`, the function the bot,
the CLI and the console call. Prints a Markdown table (and, with --json, the raw figures).

    flock /tmp/navigator-heavy.lock .venv/bin/python -m benchmarks.directory.run
    flock /tmp/navigator-heavy.lock .venv/bin/python -m benchmarks.directory.run \
        --database-url postgresql://postgres@127.0.0.1:5432/navigator_bench --sizes 1000 10000 100000

Each search opens its own session (as the bot's action does), asks for 4 results (a page of 3 and
"is there more"), of a random KIND near a town drawn by population (where people search from); a
quarter of them add a filter (open now, a language, or a tag). The index reads of every search are
counted, to show that a search never loads the directory into Python.
"""
from __future__ import annotations

import argparse
import bisect
import json
import platform
import random
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from benchmarks.directory.generate import _towns, generate
from infra.db import make_engine, session_scope
from navigator.schema import create_schema
from resources.importers.hsds_import import import_hsds
from resources.places.gazetteer import Place
from resources.search.nearby import search_services
from resources.taxonomy.kinds import KINDS

FILTERS = [{}, {}, {}, {"open_now": True}, {}, {"language": "es"}, {}, {"tags": ["takes_children"]}]


def _fresh_engine(database_url: str | None, size: int, workdir: Path):
    """A new, empty database for one size: a SQLite file, or a dropped-and-created PostgreSQL db."""
    if not database_url:
        return make_engine(f"sqlite:///{workdir}/bench-{size}.db"), None
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    return make_engine(url.render_as_string(hide_password=False)), admin


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _plan(engine, sql: str, params) -> str:
    """How the database runs a search's index read (EXPLAIN of the statement a search really sent)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return " / ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
        return " / ".join(r[0].strip() for r in conn.exec_driver_sql("EXPLAIN " + sql, params))


def bench(size: int, searches: int, database_url: str | None, workdir: Path, seed: int = 11) -> dict:
    folder = workdir / f"directory-{size}"
    started = time.perf_counter()
    generate(size, folder)
    generated = time.perf_counter() - started

    engine, admin = _fresh_engine(database_url, size, workdir)
    create_schema(engine)
    started = time.perf_counter()
    report = import_hsds(folder, engine)
    imported = time.perf_counter() - started

    reads: list[tuple[str, object]] = []

    def count_reads(conn, cursor, sql, params, *args) -> None:
        if "FROM search_point" in sql:
            reads.append((sql, params))

    event.listen(engine, "before_cursor_execute", count_reads)
    rng = random.Random(seed)
    weights, towns = _towns()
    now = datetime(2024, 5, 6, 18, 0, tzinfo=timezone.utc)
    latencies, filtered, results_found, index_reads = [], [], 0, []
    for i in range(searches + 20):
        lat, lon, city, state, _ = towns[bisect.bisect(weights, rng.random() * weights[-1])]
        place = Place("city", city, state, lat, lon)
        kind = rng.choice(KINDS)
        filters = FILTERS[i % len(FILTERS)]
        reads.clear()
        t0 = time.perf_counter()
        with session_scope(engine) as session:
            results = search_services(session, kind, place, limit=4, now=now, **filters)
        elapsed = (time.perf_counter() - t0) * 1000
        if i < 20:
            continue  # warm-up: connections, gazetteer, tag tables
        (filtered if filters else latencies).append(elapsed)
        results_found += bool(results)
        index_reads.append(len(reads))
    event.remove(engine, "before_cursor_execute", count_reads)
    plan = _plan(engine, *reads[0]) if reads else None
    engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(database_url).database}" WITH (FORCE)'))
        admin.dispose()
    return {
        "services": size, "database": "PostgreSQL" if database_url else "SQLite",
        "generate_s": round(generated, 1), "import_s": round(imported, 1),
        "imported_services": report.imported.get("service", 0),
        "search_p50_ms": round(statistics.median(latencies), 2), "search_p95_ms": round(_percentile(latencies, 95), 2),
        "filtered_p50_ms": round(statistics.median(filtered), 2),
        "filtered_p95_ms": round(_percentile(filtered, 95), 2),
        "searches": len(latencies) + len(filtered), "with_results": results_found,
        "index_reads_max": max(index_reads), "plan": plan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--database-url", help="a PostgreSQL URL whose database the benchmark may drop and create")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="navigator-bench-") as tmp:
        for size in args.sizes:
            rows.append(bench(size, args.searches, args.database_url, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n{platform.node()} {platform.processor() or platform.machine()}, "
          f"{datetime.now():%Y-%m-%d}, Python {platform.python_version()}\n")
    print("| services | database | import | search p50 | search p95 | filtered p50 | filtered p95 | index reads/search (max) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['services']:,} | {r['database']} | {r['import_s']} s | {r['search_p50_ms']} ms | "
              f"{r['search_p95_ms']} ms | {r['filtered_p50_ms']} ms | {r['filtered_p95_ms']} ms | "
              f"{r['index_reads_max']} |")
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
