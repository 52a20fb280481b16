"""`navigator serve` (what `make run` starts): the Rasa server, the action server and the
advocate console in the foreground, stopped together on Ctrl-C or SIGTERM.

Configuration comes from the environment (CONTRACT.md); this module turns it into what each
process expects (endpoints.yml variables, the action server's host) and prints the URLs once
every process answers.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from navigator import config
from navigator.config import ROOT, VAR_DIR

STARTUP_TIMEOUT_S = 600
STOP_GRACE_S = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run Rasa, the action server and the console (make run)")
    serve.set_defaults(handler=serve_command)


def rasa_api_token() -> str:
    """The token that guards Rasa's HTTP API: RASA_API_TOKEN, or one kept in var/ (mode 600)."""
    if os.environ.get("RASA_API_TOKEN"):
        return os.environ["RASA_API_TOKEN"]
    path = VAR_DIR / "rasa_api_token"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def child_environment() -> dict[str, str]:
    """The environment of the three processes: CONTRACT's variables resolved, and what
    endpoints.yml reads."""
    env = dict(os.environ)
    tracker_url = config.tracker_store_url()
    env["TRACKER_STORE_URL"] = tracker_url
    env["TRACKER_STORE_DIALECT"] = urlsplit(tracker_url).scheme.split("+")[0] or "sqlite"
    if tracker_url.startswith("sqlite:///"):
        Path(tracker_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    for name in config.DEFAULT_PORTS:
        env[name] = str(config.port(name))
    env["SANIC_HOST"] = "127.0.0.1"  # the action server listens on loopback only
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # numpy's BLAS otherwise spins a thread per core for the small matrix products of each
    # message: twice the CPU for the same latency, taken from the other processes
    # (benchmarks/load/README.md). An operator's own setting wins.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["RASA_TELEMETRY_ENABLED"] = "false"  # no telemetry or crash reports leave the machine
    env["RASA_API_TOKEN"] = rasa_api_token()
    env["PYTHONUNBUFFERED"] = "1"
    # The console's /healthz also says when the Rasa server or the action server is down.
    env.setdefault("CONSOLE_WATCH_URLS", f"rasa=http://127.0.0.1:{env['RASA_PORT']}/,"
                                         f"actions=http://127.0.0.1:{env['ACTION_PORT']}/health")
    return env


def rasa_server_command(model: Path, env: dict[str, str], port: str) -> list[str]:
    """One Rasa server on loopback `port`: the survivor channels and the token-guarded HTTP API."""
    return [str(Path(sys.executable).parent / "rasa"), "run", "--model", str(model), "--enable-api",
            "--auth-token", env["RASA_API_TOKEN"], "--interface", "127.0.0.1", "--port", port,
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"]


def action_server_command(env: dict[str, str]) -> list[str]:
    return [str(Path(sys.executable).parent / "rasa"), "run", "actions", "--actions", "bot.actions",
            "--port", env["ACTION_PORT"]]


def commands(model: Path, env: dict[str, str]) -> dict[str, list[str]]:
    return {
        "actions": action_server_command(env),
        "console": [sys.executable, "-m", "console"],
        "rasa": rasa_server_command(model, env, env["RASA_PORT"]),
    }


def readiness_urls(env: dict[str, str]) -> dict[str, str]:
    return {
        "actions": f"http://127.0.0.1:{env['ACTION_PORT']}/health",
        "console": f"http://127.0.0.1:{env['CONSOLE_PORT']}/healthz",
        "rasa": f"http://127.0.0.1:{env['RASA_PORT']}/",
    }


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Supervisor:
    """Starts the processes, watches them, and stops them all when one dies or we are told to."""

    def __init__(self) -> None:
        self.processes: dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=env)

    def dead(self) -> list[str]:
        return [name for name, p in self.processes.items() if p.poll() is not None]

    def stop(self, *_args) -> None:
        if self.stopping:
            return
        self.stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def serve_command(args: argparse.Namespace) -> int:
    from navigator.build import model_path
    from navigator.production import exit_if_unsafe
    from navigator.retention import DailyPurge, retention_days

    exit_if_unsafe("navigator serve")  # NAVIGATOR_ENV=production: every secret configured, or stop here
    days = retention_days()  # a wrong RETENTION_DAYS stops here, before anything starts
    model = model_path()
    if not model.exists():
        print(f"navigator serve: no trained model at {model}; run `make setup` first", file=sys.stderr)
        return 2
    env = child_environment()
    supervisor = Supervisor()
    stop_requested = []

    def on_signal(signum, _frame) -> None:
        stop_requested.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    for name, command in commands(model, env).items():
        supervisor.start(name, command, env)
    try:
        pending = readiness_urls(env)
        while pending and not stop_requested:
            if supervisor.dead():
                print(f"navigator serve: {', '.join(supervisor.dead())} exited during start-up", file=sys.stderr)
                return 1
            pending = {name: url for name, url in pending.items() if not answers(url)}
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                print(f"navigator serve: not ready after {STARTUP_TIMEOUT_S} s: {', '.join(pending)}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        if not stop_requested:
            print_urls(env, time.monotonic() - started)
            if days is not None:
                DailyPurge(days).start()
        while not stop_requested:
            if supervisor.dead():
                print(f"navigator serve: {', '.join(supervisor.dead())} stopped; stopping the rest", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        supervisor.stop()


def print_urls(env: dict[str, str], seconds: float) -> None:
    rasa, console = f"http://localhost:{env['RASA_PORT']}", f"http://localhost:{env['CONSOLE_PORT']}"
    print(f"""
The navigator is ready ({seconds:.0f} s). Ctrl-C stops it.
  Web chat demo page:   {rasa}/webchat/demo
  Survivor REST API:    {rasa}/webhooks/rest/webhook
  SMS webhook (Twilio): {rasa}/webhooks/twilio/webhook
  Advocate console:     {console}/   (add an advocate: .venv/bin/navigator advocates add NAME)
  Console health:       {console}/healthz
  Database:             {'embedded SQLite (var/navigator.db)' if config.uses_embedded_database() else 'DATABASE_URL'}
""", flush=True)
