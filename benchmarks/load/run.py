"""Load benchmark: N survivors' conversations at once through the REST channel (issue 7).

For each level N (default 10, 50, 200), N conversations run at the same time, each a few
realistic turns ("hi" / "i need a shelter" / "san mateo" / "more" / "thanks", or a kind and a
place in the first message: "legal help in redwood city"), each with its own sender id. Every
turn's latency (request sent to whole reply read) is recorded; a turn is an error when the
answer is not 200, times out, holds no text, or is the safety net's answer in the bot's place
(the 24/7 lines the Rasa server says when a turn has not answered within its deadline,
bot/channels/fallback.py: quick, but not the answer the person asked for). Conversations start spread over the first
think-time window and a person pauses `--think` seconds between turns (0 0: back to back).

Without `--url` it starts the whole navigator as `make run` does (tests.helpers.Stack: free
ports, its own SQLite databases) with a fictional 10,000-service directory
(benchmarks.directory.generate) plus the San Mateo demo directory, and also reports the CPU
seconds each process (Rasa server, action server, console) spent per turn at each level.

    flock /tmp/navigator-heavy.lock .venv/bin/python -m benchmarks.load.run
    .venv/bin/python -m benchmarks.load.run --url http://127.0.0.1:5005 --levels 10 --json
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a file: benchmarks/load/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import aiohttp
import yaml

from infra.config import ROOT

DEMO_DIRECTORY = ROOT / "resources" / "demo" / "san_mateo"
DIRECTORY_SIZE = 10_000
REQUEST_TIMEOUT_S = 60
# What the Rasa server says in the bot's place when a turn is late or fails (bot/channels/fallback.py).
FALLBACK_TEXT = yaml.safe_load((ROOT / "domain.yml").read_text())["responses"]["utter_service_trouble"][0]["text"]
IDLE_SAMPLE_S = 5
# (step label, message). Places are in San Mateo County, where the demo directory is.
SCRIPTS = [
    [("greeting", "hi"), ("kind", "i need a shelter"), ("place", "san mateo"), ("more", "more"),
     ("thanks", "thanks")],
    [("kind+place", "legal help in redwood city"), ("more", "more"), ("thanks", "thank you")],
    [("greeting", "hello"), ("kind", "i need counseling"), ("place", "94401"), ("more", "more"),
     ("thanks", "thanks")],
    [("kind+place", "rehab near daly city"), ("more", "more"), ("thanks", "thanks")],
    [("greeting", "hey"), ("kind", "i need a lawyer"), ("place", "redwood city"), ("more", "more"),
     ("thanks", "thank you")],
    [("kind+place", "i need a shelter in 94063"), ("more", "more"), ("thanks", "thanks")],
]


@dataclass
class Turn:
    step: str
    latency_ms: float
    error: str | None  # None, "http 500", "timeout", "connection", "empty reply", "fallback"


@dataclass
class Level:
    conversations: int
    turns: list[Turn] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds during the level
    load_avg: float = 0.0  # the machine's 1-minute load average as the level ended (it is shared)


def percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def say(http: aiohttp.ClientSession, url: str, sender: str, text: str) -> tuple[float, str | None, list]:
    started = time.perf_counter()
    try:
        async with http.post(url, json={"sender": sender, "message": text}) as response:
            body = await response.text()
            status = response.status
    except asyncio.TimeoutError:
        return (time.perf_counter() - started) * 1000, "timeout", []
    except aiohttp.ClientError as e:
        return (time.perf_counter() - started) * 1000, f"connection ({type(e).__name__})", []
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        return elapsed, f"http {status}", []
    try:
        replies = json.loads(body)
    except ValueError:
        return elapsed, "not JSON", []
    if not isinstance(replies, list) or not any((r.get("text") or "").strip() for r in replies):
        return elapsed, "empty reply", replies if isinstance(replies, list) else []
    if any(r.get("text") == FALLBACK_TEXT for r in replies):
        return elapsed, "fallback", replies
    return elapsed, None, replies


async def conversation(http, url: str, sender: str, script, think: tuple[float, float], rng: random.Random,
                       level: Level, transcript: list | None) -> None:
    await asyncio.sleep(rng.uniform(0, think[1]))  # people do not all start in the same millisecond
    for i, (step, text) in enumerate(script):
        if i:
            await asyncio.sleep(rng.uniform(*think))
        latency, error, replies = await say(http, url, sender, text)
        level.turns.append(Turn(step, latency, error))
        if transcript is not None:
            transcript.append((text, [r.get("text") for r in replies], error))


async def run_level(url: str, n: int, think: tuple[float, float], seed: int, run_id: str) -> Level:
    level = Level(n)
    rng = random.Random(seed * 1000 + n)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        tasks = []
        for i in range(n):
            tasks.append(conversation(http, url, f"load-{run_id}-{n}-{i}", SCRIPTS[i % len(SCRIPTS)], think,
                                      random.Random(rng.random()), level, None))
        started = time.perf_counter()
        await asyncio.gather(*tasks)
        level.wall_s = time.perf_counter() - started
    return level


def summary(level: Level) -> dict:
    latencies = [t.latency_ms for t in level.turns]
    errors: dict[str, int] = {}
    for t in level.turns:
        if t.error:
            errors[t.error] = errors.get(t.error, 0) + 1
    by_step = {}
    for step in dict.fromkeys(t.step for t in level.turns):
        values = [t.latency_ms for t in level.turns if t.step == step]
        by_step[step] = {"turns": len(values), "p50_ms": round(statistics.median(values), 1),
                         "p95_ms": round(percentile(values, 95), 1)}
    turns = len(level.turns)
    return {
        "conversations": level.conversations, "turns": turns, "errors": sum(errors.values()),
        "error_kinds": errors, "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1), "wall_s": round(level.wall_s, 1),
        "turns_per_s": round(turns / level.wall_s, 1) if level.wall_s else None, "by_step": by_step,
        "cpu_ms_per_turn": {name: round(s / turns * 1000, 1) for name, s in level.cpu_s.items()} if turns else {},
        "load_avg": round(level.load_avg, 2),
    }


# --- the navigator's processes (when this tool starts it) -----------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def navigator_processes(serve_pid: int) -> dict[str, int]:
    """"rasa", "actions", "console" -> pid, among the children of `navigator serve`."""
    named = {}
    for pid in _children(serve_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [w.decode(errors="replace") for w in cmdline]
        name = "actions" if "actions" in words else "console" if "console" in words else "rasa"
        named[name] = pid
    return named


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its waited-for children), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start_stack(work: Path):
    """The whole navigator on free ports with a fictional directory and the San Mateo demo."""
    from benchmarks.directory.generate import generate
    from tests.helpers import Stack

    stack = Stack(work)
    stack.start()
    for args in ([str(generate(DIRECTORY_SIZE, work / "directory"))], [str(DEMO_DIRECTORY), "--id-prefix", "demo:"]):
        imported = stack.cli("import-hsds", *args)
        if imported.returncode != 0:
            stack.stop()
            raise SystemExit(f"import-hsds {args[0]} failed:\n{imported.stderr[-2000:]}")
    return stack


# --- main -----------------------------------------------------------------------------------------

def table(rows: list[dict]) -> str:
    names = list(rows[0]["cpu_ms_per_turn"])
    lines = ["| conversations | turns | errors | p50 | p95 | max | turns/s | load avg |"
             + "".join(f" CPU ms/turn {n} |" for n in names),
             "|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(names)]
    for r in rows:
        lines.append(f"| {r['conversations']} | {r['turns']} | {r['errors']} | {r['p50_ms']:.0f} ms | "
                     f"{r['p95_ms']:.0f} ms | {r['max_ms']:.0f} ms | {r['turns_per_s']} | {r['load_avg']} |"
                     + "".join(f" {r['cpu_ms_per_turn'][n]} |" for n in names))
    steps = list(dict.fromkeys(s for r in rows for s in r["by_step"]))
    lines += ["", "| conversations | " + " | ".join(f"{s} p50 / p95" for s in steps) + " |",
              "|---:|" + "---:|" * len(steps)]
    for r in rows:
        lines.append(f"| {r['conversations']} | " + " | ".join(
            f"{r['by_step'][s]['p50_ms']:.0f} / {r['by_step'][s]['p95_ms']:.0f} ms" if s in r["by_step"] else "-"
            for s in steps) + " |")
    return "\n".join(lines)


async def measure(url: str, levels: list[int], think: tuple[float, float], seed: int, processes: dict[str, int],
                  show: bool) -> tuple[list[dict], dict]:
    run_id = uuid.uuid4().hex[:6]
    webhook = url.rstrip("/") + "/webhooks/rest/webhook"
    # Warm-up, not counted: one conversation of each script, one after the other.
    transcripts: dict = {}
    for i, script in enumerate(SCRIPTS):
        warm = Level(1)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)) as http:
            transcripts[i] = []
            await conversation(http, webhook, f"load-{run_id}-warm-{i}", script, (0, 0), random.Random(i), warm,
                               transcripts[i])
    if show:
        for i, turns in transcripts.items():
            print(f"--- script {i}", file=sys.stderr)
            for text, replies, error in turns:
                print(f"> {text}\n" + "\n".join(f"  < {(r or '')[:160]!r}" for r in replies)
                      + (f"\n  ! {error}" if error else ""), file=sys.stderr)
    idle = {}
    if processes:  # what the processes burn while nobody talks to them, to read the per-turn CPU against
        before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        await asyncio.sleep(IDLE_SAMPLE_S)
        idle = {name: round((cpu_seconds(pid) - before[name]) / IDLE_SAMPLE_S * 1000, 1)
                for name, pid in processes.items()}
        print(json.dumps({"idle_cpu_ms_per_s": idle}), file=sys.stderr, flush=True)
    rows = []
    for n in levels:
        before = {name: cpu_seconds(pid) for name, pid in processes.items()}
        level = await run_level(webhook, n, think, seed, run_id)
        level.cpu_s = {name: cpu_seconds(pid) - before[name] for name, pid in processes.items()}
        level.load_avg = os.getloadavg()[0]
        rows.append(summary(level))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "by_step"}), file=sys.stderr, flush=True)
        await asyncio.sleep(2)
    return rows, idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running navigator's Rasa server (default: start one)")
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 50, 200], help="concurrent conversations")
    parser.add_argument("--think", type=float, nargs=2, default=[1.0, 3.0], metavar=("MIN", "MAX"),
                        help="seconds a person pauses between turns, drawn uniformly (0 0: none)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", action="store_true", help="print the warm-up conversations' replies (stderr)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    think = (min(args.think), max(args.think))
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory(prefix="navigator-load-") as tmp:
        stack = None if args.url else start_stack(Path(tmp))
        try:
            processes = navigator_processes(stack.process.pid) if stack else {}
            rows, idle = asyncio.run(measure(args.url or stack.rasa, args.levels, think, args.seed, processes, args.show))
        finally:
            if stack:
                stack.stop()
    machine = {"host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
               "think_s": list(think), "idle_cpu_ms_per_s": idle,
               "directory": None if args.url else f"{DIRECTORY_SIZE} generated + San Mateo demo"}
    if args.json:
        print(json.dumps({"machine": machine, "levels": rows}, indent=1))
    else:
        print(f"\n{machine}\n")
        print(table(rows))


if __name__ == "__main__":
    main()
