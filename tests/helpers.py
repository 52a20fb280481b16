"""Small helpers shared by tests that talk to a running process over HTTP, and `Stack`: the
whole navigator as `make run` starts it, on free ports and its own databases."""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

from infra.config import ROOT

NAVIGATOR = str(Path(sys.executable).parent / "navigator")
STACK_START_TIMEOUT_S = 300
# The browser tests drive Debian's Chromium through Playwright (which cannot download a browser
# here); `make test` installs it first (scripts/ensure-chromium). Without the networking flags this
# machine's closed network refuses Chromium's background calls.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    """Fail (not skip) without Chromium: `make test` installs it, so its absence is a broken set-up."""
    import pytest

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing at /usr/bin/chromium: run scripts/ensure-chromium "
                    "(make test does), or apt-get install -y chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: Any = None, headers: Optional[dict] = None, timeout: float = 30):
    """(status, parsed JSON or text) of one request; HTTP errors are returned, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_until(predicate, timeout: float, interval: float = 0.5, process=None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if predicate():
                return True
        except OSError:
            pass
        time.sleep(interval)
    return False


class Stack:
    """`navigator serve` in a temporary folder: free ports, its own DATABASE_URL and
    TRACKER_STORE_URL, and any extra environment (`env`), with its output in `work/run.log`."""

    def __init__(self, work: Path, env: Optional[dict] = None):
        self.work = work
        self.log = work / "run.log"
        ports = {name: free_port() for name in ("RASA_PORT", "ACTION_PORT", "CONSOLE_PORT")}
        self.env = {**os.environ, **{k: str(v) for k, v in ports.items()},
                    "DATABASE_URL": f"sqlite:///{work}/navigator.db",
                    "TRACKER_STORE_URL": f"sqlite:///{work}/tracker.db",
                    "RASA_API_TOKEN": f"stack-{ports['RASA_PORT']}-{secrets.token_urlsafe(24)}", **(env or {})}
        self.rasa = f"http://127.0.0.1:{ports['RASA_PORT']}"
        self.console = f"http://127.0.0.1:{ports['CONSOLE_PORT']}"
        self.ports = ports
        self.process = None
        self.token = None

    @property
    def rasa_api_token(self) -> str:
        return self.env["RASA_API_TOKEN"]

    def rasa_api_headers(self) -> dict[str, str]:
        """The `Authorization` header the console sends to Rasa's HTTP API (a short-lived JWT
        signed with the token, console/rasa_api.py): for a test's own calls to that API, so that
        the token is not put in a URL."""
        from console.rasa_api import RasaApi

        return {"Authorization": f"Bearer {RasaApi(self.rasa, self.rasa_api_token).call_token()}"}

    def start(self) -> None:
        import pytest

        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([NAVIGATOR, "serve"], cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        ready = wait_until(lambda: http("GET", self.rasa + "/", timeout=2)[0] == 200
                           and http("GET", self.console + "/healthz", timeout=2)[0] == 200,
                           STACK_START_TIMEOUT_S, interval=1, process=self.process)
        if not ready:
            self.stop()
            pytest.fail("the navigator did not start; its log ends:\n" + self.log.read_text()[-3000:])

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([NAVIGATOR, *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=120)

    def say(self, sender: str, text: str) -> str:
        status, replies = http("POST", self.rasa + "/webhooks/rest/webhook", {"sender": sender, "message": text})
        assert status == 200, replies
        return "\n".join((r.get("text") or "") + "".join(b["title"] for b in r.get("buttons") or [])
                         for r in replies)

    def children(self) -> dict[str, int]:
        """The pids of the processes `navigator serve` runs now (its process group), by name:
        "rasa", "actions", "console"."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.process.pid:
                continue
            try:
                if os.getpgid(int(entry.name)) != self.process.pid:
                    continue
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, ProcessLookupError):
                continue
            if b"navigator.action_server" in command:
                found["actions"] = int(entry.name)
            elif b"console" in command:
                found["console"] = int(entry.name)
            elif b"navigator.rasa_server" in command:
                found["rasa"] = int(entry.name)
        return found

    def handoffs(self):
        return http("GET", self.console + "/api/handoffs?status=open",
                    headers={"Authorization": f"Bearer {self.token}"})[1]

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                return self.process.wait()
        return self.process.returncode if self.process else 0
