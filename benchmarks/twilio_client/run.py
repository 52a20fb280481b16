"""Time per SMS send against the local Twilio stand-in: the hand-written aiohttp client (the
module as it was at --old-rev) against the one on the twilio SDK (infra/twilio_client.py now).

    .venv/bin/python -m benchmarks.twilio_client.run [--sends 100] [--rounds 3] [--old-rev e466e7e]

Each round, for each client: 10 warm-up sends, then `--sends` sends one after another on one event
loop (as the Rasa server sends), each timed wall-clock; then one burst of 20 at once (the advocate
alerts' gather). The stand-in runs in this process on threads, as in the tests. Two stand-ins: as
the tests run it (HTTP/1.0: it closes every connection, so no client can keep one) and the same
answering HTTP/1.1 with keep-alive, as Twilio does, where a reused session keeps its connection.
The third stand-in is the second with Nagle's algorithm left on (http.server's default): it
writes an answer's headers and body apart, and on a connection kept open the second write waits
for the client's delayed ACK, 40 ms, an artefact of that server that Twilio does not have.
http.server's listen backlog (5) is raised to 128 so that the burst measures the clients, not
refused connections. The clients take turns, round after round, so that drift on a shared machine hits both alike.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from infra import twilio_client as new_client
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, TwilioStandIn

ROOT = Path(__file__).resolve().parents[2]
KEEP_ALIVE = "HTTP/1.1 keep-alive"
MODES = ("HTTP/1.0 (tests)", KEEP_ALIVE, "HTTP/1.1 keep-alive, Nagle on")
BODY = "Shelter: Harbor House, (555) 010-2000, open 24 hours, 1.2 miles. Reply MORE for more."


def old_module(rev: str):
    source = subprocess.run(["git", "show", f"{rev}:infra/twilio_client.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    # Its SMS length rule from wherever the tree keeps it now (the new client imports the same names).
    source = source.replace("from infra.sms_text import", "from infra.twilio_client import")
    path = Path(tempfile.mkdtemp()) / "old_twilio_client.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_twilio_client", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


async def one_round(module, settings, sends: int):
    for i in range(10):
        await module.send_sms(f"+1555020{i:04d}", BODY, settings)
    times = []
    for i in range(sends):
        started = time.perf_counter()
        await module.send_sms(f"+1555030{i:04d}", BODY, settings)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    await asyncio.gather(*(module.send_sms(f"+1555040{i:04d}", BODY, settings) for i in range(20)))
    return times, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--old-rev", default="e466e7e", help="the commit whose infra/twilio_client.py is the old one")
    args = parser.parse_args()
    clients = {"old (aiohttp by hand)": old_module(args.old_rev), "new (twilio SDK)": new_client}
    print(f"Python {sys.version.split()[0]}, {args.sends} sends x {args.rounds} rounds per client and stand-in")
    print("| stand-in | client | median per send | p90 | mean | 20 at once (median burst) |")
    print("|---|---|---:|---:|---:|---:|")
    for mode in MODES:
        standin = TwilioStandIn().start()
        standin.server.socket.listen(128)  # http.server's backlog of 5 drops a burst of 20 connections
        if mode != "HTTP/1.0 (tests)":
            standin.server.RequestHandlerClass.protocol_version = "HTTP/1.1"
            standin.server.RequestHandlerClass.disable_nagle_algorithm = mode == KEEP_ALIVE
        results = {name: ([], []) for name in clients}
        for _ in range(args.rounds):
            for name, module in clients.items():
                settings = module.TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER, standin.url)
                times, burst = asyncio.run(one_round(module, settings, args.sends))
                results[name][0].extend(times)
                results[name][1].append(burst)
        standin.stop()
        for name, (times, bursts) in results.items():
            ordered = sorted(times)
            print(f"| {mode} | {name} "
                  f"| {statistics.median(times) * 1000:.2f} ms | {ordered[int(len(ordered) * 0.9)] * 1000:.2f} ms "
                  f"| {statistics.fmean(times) * 1000:.2f} ms | {statistics.median(bursts) * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
