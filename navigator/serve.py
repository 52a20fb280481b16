"""`navigator serve` (what `make run` starts): the Rasa server, the action server and the
advocate console in the foreground, stopped together on Ctrl-C or SIGTERM. One that crashes after
start-up is restarted, with backoff, while the others keep serving (Supervisor).

Configuration comes from the environment (CONTRACT.md); this module turns it into what each
process expects (endpoints.yml variables, the action server's host) and prints the URLs once
every process answers.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Optional, TextIO
from urllib.parse import urlsplit

from conversations import shifts
from infra import config
from infra.config import ROOT, STATUS_FILE_VARIABLE, VAR_DIR
from infra.db import private_sqlite_file
from infra.secret_key import rasa_api_token
from navigator import schema  # noqa: F401  (every table's retention rule: the daily purge runs here)

STARTUP_TIMEOUT_S = 600
STOP_GRACE_S = 10
WATCH_INTERVAL_S = 0.5  # how soon an exit is noticed


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run Rasa, the action server and the console (make run)")
    serve.set_defaults(handler=serve_command)


def child_environment(status_file: Optional[Path] = None) -> dict[str, str]:
    """The environment of the three processes: CONTRACT's variables resolved, what endpoints.yml
    reads, and the path of `navigator serve`'s StatusFile (when there is one) for /healthz."""
    env = dict(os.environ)
    env.pop(STATUS_FILE_VARIABLE, None)  # never another supervisor's
    if status_file is not None:
        env[STATUS_FILE_VARIABLE] = str(status_file)
    tracker_url = config.tracker_store_url()
    env["TRACKER_STORE_URL"] = tracker_url
    env["TRACKER_STORE_DIALECT"] = urlsplit(tracker_url).scheme.split("+")[0] or "sqlite"
    if tracker_url.startswith("sqlite:///"):  # created private here, before Rasa opens it
        private_sqlite_file(Path(tracker_url[len("sqlite:///"):].split("?", 1)[0]))
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
    """One Rasa server on loopback `port`: the survivor channels and the HTTP API, through our entry
    (navigator/rasa_server.py: the server policy on every channel, the API's secret RASA_API_TOKEN taken from
    `env`, never from this command line, which every local user can read in /proc)."""
    return [sys.executable, "-m", "navigator.rasa_server", "run", "--model", str(model), "--enable-api",
            "--interface", "127.0.0.1", "--port", port,
            "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"]


def action_server_command(env: dict[str, str]) -> list[str]:
    """The action server, through our entry (navigator/action_server.py: it answers only the Rasa server,
    which sends the secret both derive from the secret key)."""
    return [sys.executable, "-m", "navigator.action_server", "run", "actions", "--actions", "bot.actions",
            "--port", env["ACTION_PORT"]]


def commands(model: Path, env: dict[str, str]) -> dict[str, list[str]]:
    return {
        "actions": action_server_command(env),
        "console": [sys.executable, "-m", "navigator.console_server"],  # the schema first, then the console
        "rasa": rasa_server_command(model, env, env["RASA_PORT"]),
    }


def readiness_urls(env: dict[str, str]) -> dict[str, str]:
    return {
        "actions": f"http://127.0.0.1:{env['ACTION_PORT']}/health",
        "console": f"http://127.0.0.1:{env['CONSOLE_PORT']}/healthz",
        "rasa": f"http://127.0.0.1:{env['RASA_PORT']}/",
    }


def answers(url: str) -> bool:
    """Whether `url` answers 200: what start-up waits for."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def responds(url: str) -> bool:
    """Whether a process serves `url` at all, whatever the status: the console's /healthz says 503
    while another process is down, yet the console itself is back."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def exit_status(returncode: int) -> str:
    """`exit status 1` or `killed by SIGKILL`, as an operator reads it."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


@dataclasses.dataclass(frozen=True)
class Backoff:
    """How long to wait before restarting a process that exited: `first_s`, doubled at each exit
    in a row, at most `cap_s`. A process that stayed up `reset_after_s` starts again from `first_s`.
    So a rare crash costs a second, and a process that dies at once, again and again, is retried
    ever more slowly instead of taking in a busy loop the CPU the other processes serve with."""

    first_s: float = 1.0
    cap_s: float = 30.0
    reset_after_s: float = 60.0

    def delay(self, exits_in_a_row: int) -> float:
        return min(self.cap_s, self.first_s * 2 ** max(0, exits_in_a_row - 1))


STARTING, UP, RESTARTING = "starting", "up", "restarting"


@dataclasses.dataclass
class Child:
    """One supervised process and what the supervisor knows of it."""

    name: str
    command: list[str]
    process: Optional[subprocess.Popen] = None  # None while it waits to be restarted
    state: str = STARTING  # then UP; RESTARTING from an unexpected exit until it answers again
    started_at: float = 0.0
    exited_at: float = 0.0
    restart_at: float = 0.0
    exits_in_a_row: int = 0
    restarts: int = 0


class StatusFile:
    """What `navigator serve` tells the console's /healthz: each process's state and restarts,
    `{"processes": {"actions": {"state": "up", "restarts": 1}, ...}}`. Names, states and counts
    only: nothing about a conversation. It lives in a private temporary folder of its own (several
    navigators may share a machine or a project folder), is replaced whole by a rename (a reader
    never sees half of it), and goes when `navigator serve` stops."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="navigator-serve-"))
        self.path = self.folder / "status.json"

    def write(self, processes: dict[str, dict]) -> None:
        partial = self.folder / "status.json.partial"
        partial.write_text(json.dumps({"processes": processes}))
        os.replace(partial, self.path)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Supervisor:
    """Starts the processes, restarts one that exits after start-up, and stops them all when told.

    Why start-up and afterwards differ: during start-up (until every process has answered once),
    an exit is almost always configuration (a port taken, a bad setting, no database): restarting
    would loop on it forever and bury the error, so `navigator serve` stops everything and says
    which process exited (`wait_for_start_up`). Once every process has answered, the configuration
    is known to work, and an exit is a crash (an out-of-memory kill, a bug) that a restart mends:
    the process is started again after a `Backoff` wait while the others keep serving (with the
    action server down the Rasa server still answers survivors with the 24/7 lines). Each exit and
    each restart is one line on `out` (stderr) naming the process, its exit status and the wait.

    `ready(name)` says whether a restarted process answers again; `clock` and `backoff` are there
    for tests."""

    def __init__(self, commands: dict[str, list[str]], env: dict[str, str],
                 ready: Callable[[str], bool] = lambda _name: True, backoff: Backoff = Backoff(),
                 clock: Callable[[], float] = time.monotonic, status: Optional[StatusFile] = None,
                 out: Optional[TextIO] = None, grace_s: float = STOP_GRACE_S) -> None:
        self.children = {name: Child(name, command) for name, command in commands.items()}
        self.env, self.ready, self.backoff, self.clock = env, ready, backoff, clock
        self.status, self.out, self.grace_s = status, out, grace_s
        self.stop_requested = False

    def start_all(self) -> None:
        for child in self.children.values():
            self._spawn(child)
        self._publish()

    def exited(self) -> dict[str, int]:
        """The processes that have exited, with their return codes (start-up checks this)."""
        return {name: child.process.returncode for name, child in self.children.items()
                if child.process is not None and child.process.poll() is not None}

    def started(self) -> None:
        """Start-up is over: every process answered. From now on an exit means a restart."""
        for child in self.children.values():
            child.state = UP
        self._publish()

    def request_stop(self, *_signal_args) -> None:
        """Ctrl-C or SIGTERM (a signal handler): nothing is restarted any more."""
        self.stop_requested = True

    def watch(self) -> None:
        """One round after start-up: note the processes that exited, start again those whose wait
        is over, and mark up those that answer again."""
        if self.stop_requested:
            return
        now = self.clock()
        changed = False
        for child in self.children.values():
            if child.process is not None and child.process.poll() is not None:
                self._note_exit(child, now)
            elif child.process is None and now >= child.restart_at:
                self._restart(child)
            elif child.state == RESTARTING and child.process is not None and self.ready(child.name):
                child.state = UP
                self._say(f"{child.name} answers again, {self.clock() - child.exited_at:.1f} s after it exited")
            else:
                continue
            changed = True
        if changed:
            self._publish()

    def stop(self) -> None:
        """SIGTERM to every process, SIGKILL to any still running after the grace; each is waited
        for, so that none is left behind. Calling it again does nothing more."""
        self.stop_requested = True
        running = [child.process for child in self.children.values()
                   if child.process is not None and child.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + self.grace_s
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(child.command, cwd=ROOT, env=self.env)
        child.started_at = self.clock()

    def _note_exit(self, child: Child, now: float) -> None:
        if now - child.started_at >= self.backoff.reset_after_s:
            child.exits_in_a_row = 0  # it had been up a good while: this is a new, rare crash
        child.exits_in_a_row += 1
        wait = self.backoff.delay(child.exits_in_a_row)
        self._say(f"{child.name} exited ({exit_status(child.process.returncode)}); "
                  f"restarting it in {wait:g} s")
        child.process, child.state = None, RESTARTING
        child.exited_at, child.restart_at = now, now + wait

    def _restart(self, child: Child) -> None:
        try:
            self._spawn(child)
        except OSError as error:  # out of processes or memory for a moment: wait and try again
            child.exits_in_a_row += 1
            wait = self.backoff.delay(child.exits_in_a_row)
            child.restart_at = self.clock() + wait
            self._say(f"{child.name} could not be started ({type(error).__name__}); trying again in {wait:g} s")
            return
        child.restarts += 1
        self._say(f"{child.name} restarted (restart {child.restarts} since navigator serve started)")

    def _publish(self) -> None:
        if self.status is not None:
            self.status.write({name: {"state": child.state, "restarts": child.restarts}
                               for name, child in self.children.items()})

    def _say(self, line: str) -> None:
        print(f"navigator serve: {line}", file=self.out or sys.stderr, flush=True)


def wait_for_start_up(supervisor: Supervisor, urls: dict[str, str], started: float) -> Optional[str]:
    """Wait until every process answers 200 (or a stop is asked); else say why start-up failed:
    a process exited (see Supervisor for why that stops everything) or STARTUP_TIMEOUT_S passed."""
    pending = dict(urls)
    while not supervisor.stop_requested:
        exited = supervisor.exited()
        if exited:
            return ("; ".join(f"{name} exited during start-up ({exit_status(code)})" for name, code in exited.items())
                    + ": stopping everything (its output above says why; a process that cannot start is "
                      "not restarted)")
        pending = {name: url for name, url in pending.items() if not answers(url)}
        if not pending:
            return None
        if time.monotonic() - started > STARTUP_TIMEOUT_S:
            return f"not ready after {STARTUP_TIMEOUT_S} s: {', '.join(pending)}"
        time.sleep(0.5)
    return None


def keep_files_private() -> None:
    """Every file `navigator serve` and its processes create (databases and their -wal/-shm, the
    secrets in var/, the tracker store) is its owner's only: umask 077, which the children
    inherit, and var/ itself 0700, so another local user can neither read a database nor list
    what var/ holds."""
    os.umask(0o077)
    VAR_DIR.mkdir(mode=0o700, exist_ok=True)
    if VAR_DIR.stat().st_mode & 0o077:
        os.chmod(VAR_DIR, 0o700)


def serve_command(args: argparse.Namespace) -> int:
    # `serve` alone needs set-up, the production checks and the purge: the other commands skip them
    from conversations.retention import DailyPurge, retention_days
    from infra.production import exit_if_unsafe
    from navigator.setup import model_path

    exit_if_unsafe("navigator serve")  # NAVIGATOR_ENV=production: every secret configured, or stop here
    keep_files_private()
    days = retention_days()  # a wrong RETENTION_DAYS stops here, before anything starts
    shifts.check()  # so do wrong staffed hours and confidentiality words (what survivors are told)
    config.confidentiality_text()
    model = model_path()
    if not model.exists():
        print(f"navigator serve: no trained model at {model}; run `make setup` first", file=sys.stderr)
        return 2
    status = StatusFile()
    env = child_environment(status.path)
    urls = readiness_urls(env)
    supervisor = Supervisor(commands(model, env), env, ready=lambda name: responds(urls[name]), status=status)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    started = time.monotonic()
    try:
        supervisor.start_all()
        failure = wait_for_start_up(supervisor, urls, started)
        if failure:
            print(f"navigator serve: {failure}", file=sys.stderr)
            return 1
        if not supervisor.stop_requested:
            supervisor.started()
            print_urls(env, time.monotonic() - started)
            if days is not None:
                DailyPurge(days).start()
        while not supervisor.stop_requested:
            supervisor.watch()
            time.sleep(WATCH_INTERVAL_S)
        return 0
    finally:
        supervisor.stop()
        status.remove()


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
