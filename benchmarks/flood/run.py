"""Flood benchmark (issue 14, finding 3): 1,000 forged emergencies, each from its own sender id and
its own address (IPv4, and IPv6 from a different /64 each time, as a rotating attacker sends),
through the REST channel of the whole navigator, with three on-call numbers.

It measures what the flood costs the advocates' phones (texts per on-call number, as a local
Twilio stand-in received them), how many handoffs it opened, and that every forged message was
still answered with 911 and the 24/7 lines. The budgets are the defaults (conversations.flood_budget)
unless the environment sets FLOOD_*.

Why a real stack and not conversations.handoff_requests in-process: the budget must hold across the
processes that open handoffs (the action server and, when a turn is late, the Rasa server's
fallback), and the words each forged message gets come from the running bot; 1,000 messages take
a few minutes on the project's 2-core machine, which is fine for a benchmark.

After the flood it waits until no alert waits for a summary any more (with the defaults, the
last summary is due FLOOD_SUMMARY_MINUTES after the previous one), then reports.

    flock /tmp/navigator-heavy.lock .venv/bin/python -m benchmarks.flood.run
    flock /tmp/navigator-heavy.lock .venv/bin/python -m benchmarks.flood.run --count 200 --json
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: benchmarks/flood/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, TwilioStandIn  # noqa: E402
from tests.helpers import Stack, forged_address, http, wait_until  # noqa: E402

ON_CALL = ("+15550009001", "+15550009002", "+15550009003")
EMERGENCIES = (
    "he is hurting me and says he will kill me tonight",
    "my boyfriend is beating me right now",
    "i am locked in a room and he wont let me leave",
    "someone is trying to break in and hurt me",
)
LINES = "1-800-799-7233"  # the DV Hotline: every emergency answer names it with 911


def send(url: str, n: int) -> tuple[int, str, float]:
    started = time.monotonic()
    status, replies = http("POST", url + "/webhooks/rest/webhook",
                           {"sender": f"forged-{n}", "message": EMERGENCIES[n % len(EMERGENCIES)]},
                           headers={"X-Forwarded-For": forged_address(n)}, timeout=120)
    text = " ".join(r.get("text") or "" for r in replies) if isinstance(replies, list) else str(replies)
    return status, text, time.monotonic() - started


def count(database: Path, query: str) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(query).fetchone()[0] or 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="forged emergencies (default 1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--wait-minutes", type=float, default=15, help="longest wait for the last summary")
    parser.add_argument("--linger-minutes", type=float, default=0,
                        help="then keep the navigator running this long (the requests over the budget are "
                             "stored as the window frees up, for 15 minutes) and count again")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    twilio = TwilioStandIn().start()
    work = Path(tempfile.mkdtemp(prefix="flood-bench-"))
    stack = Stack(work, env={
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_NUMBER": NAVIGATOR_NUMBER,
        "TWILIO_API_URL": twilio.url, "ADVOCATE_ALERT_NUMBERS": ",".join(ON_CALL),
        "CONSOLE_PUBLIC_URL": "https://console.example.org", "SANIC_PROXIES_COUNT": "1",
    })
    database = work / "navigator.db"
    try:
        stack.start()
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
            answers = list(pool.map(lambda n: send(stack.rasa, n), range(args.count)))
        flood_s = time.monotonic() - started
        handoffs_after_flood = count(database, "SELECT count(*) FROM handoff")
        waiting = "SELECT count(*) FROM alert WHERE kind = 'batched' AND summary_id IS NULL"
        settled = wait_until(lambda: count(database, waiting) == 0, args.wait_minutes * 60, interval=2)
        total_s = time.monotonic() - started
        texts_at_settling = {number: len(twilio.to(number)) for number in ON_CALL}
        if args.linger_minutes:
            time.sleep(args.linger_minutes * 60)
            wait_until(lambda: count(database, waiting) == 0, args.wait_minutes * 60, interval=2)
        latencies = sorted(a[2] for a in answers)
        result = {
            "forged": args.count,
            "answered_200": sum(a[0] == 200 for a in answers),
            "named_911_and_lines": sum("911" in a[1] and LINES in a[1] for a in answers),
            "told_not_reached_yet": sum("could not reach an advocate" in a[1] for a in answers),
            "flood_seconds": round(flood_s, 1),
            "reply_p50_ms": round(statistics.median(latencies) * 1000),
            "reply_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000),
            "handoffs_stored_during_flood": handoffs_after_flood,
            "handoffs_stored_at_end": count(database, "SELECT count(*) FROM handoff"),
            "alerts_naming_a_handoff": count(database, "SELECT count(*) FROM alert WHERE kind = 'text'"),
            "alerts_left_for_a_summary": count(database, "SELECT count(*) FROM alert WHERE kind = 'batched'"),
            "summaries": count(database, "SELECT count(*) FROM alert_summary"),
            "summaries_settled": settled,
            "minutes_until_the_last_summary": round(total_s / 60, 1),
            "texts_per_number_when_the_summary_went": texts_at_settling,
            "lingered_minutes": args.linger_minutes,
            "texts_per_number": {number: len(twilio.to(number)) for number in ON_CALL},
            "summary_texts": sorted({sms.body for sms in twilio.sent if "new handoff" in sms.body}),
            "budgets": {name: os.environ.get(name, "default") for name in (
                "FLOOD_WINDOW_MINUTES", "FLOOD_HANDOFFS_PER_WINDOW", "FLOOD_ALERTS_PER_WINDOW",
                "FLOOD_SUMMARY_MINUTES", "FLOOD_SUMMARY_GATHER_SECONDS")},
            "machine": f"{platform.python_version()} on {os.cpu_count()} cores",
        }
    finally:
        stack.stop()
        twilio.stop()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, value in result.items():
            print(f"{name:32} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
