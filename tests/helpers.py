"""What several test suites share that is not a fixture (fixtures shared by several suites are in
tests/conftest.py): small helpers for tests that talk to a running process over HTTP; `Stack`, the
whole navigator as `make run` starts it, on free ports and its own databases; the console as a
process with a stand-in for Rasa's HTTP API and a browser-like client; a tracker as the action
server receives it; the paths of the shared test data; forged client addresses.

One module, so that no suite imports another suite's conftest (a conftest is pytest's to load)."""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http import cookiejar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional

from infra.config import ROOT

NAVIGATOR = str(Path(sys.executable).parent / "navigator")
# The project's test data, in ../shared (never copied into the repo).
SHARED = ROOT.parent / "shared"
SAMPLE_DIRECTORY = SHARED / "eval" / "sample" / "directory_hsds3"  # Boise and Omaha services, HSDS 3.0
HSDS_DATA = SHARED / "data" / "hsds"
# The public URL Twilio is told to call (behind a proxy, not the address Rasa listens on).
WEBHOOK_URL = "https://navigator.example.org/webhooks/twilio/webhook"
RASA_TOKEN = "standin-rasa-token"  # the console's RASA_API_TOKEN when Rasa is RasaStandIn
PASSWORD = "correct horse battery"  # every test advocate's
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
            elif b"navigator.console_server" in command:
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


def forged_address(n: int) -> str:
    """The `n`th address of a rotating attacker (X-Forwarded-For): half IPv4 (198.18.0.0/15,
    benchmark addresses), half IPv6, each from its own /64."""
    if n % 2:
        return f"198.{18 + n // 65000}.{(n // 250) % 256}.{n % 250 + 1}"
    return f"2001:db8:{n:x}:{(n * 7) % 65536:x}::{n + 1:x}"


def make_tracker(slots: Optional[Dict[str, Any]] = None, text: str = "", intent: Optional[str] = None,
                 entities: Optional[List[Dict[str, Any]]] = None, events: Optional[List[Dict[str, Any]]] = None,
                 sender_id: str = "test-sender", channel: str = "rest"):
    """A tracker as the action server receives it after one user message."""
    from rasa_sdk import Tracker  # here: the HTTP-only users of this module (benchmarks) need no rasa_sdk

    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0} if intent else {},
              "entities": entities or []}
    user_event = {"event": "user", "text": text, "parse_data": latest, "input_channel": channel}
    return Tracker(sender_id, dict(slots or {}), latest, list(events or []) + [user_event], False, None,
                   {"name": None}, "action_listen")


class RasaStandIn:
    """Answers like Rasa's HTTP API and records (method, path, query, body) of each call."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict, object]] = []
        self.trackers: dict[str, dict] = {}  # conversation id -> tracker JSON
        self.failing = False
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method: str) -> None:
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                path = urllib.parse.unquote(url.path)
                with standin.lock:
                    standin.calls.append((method, path, dict(urllib.parse.parse_qsl(url.query)), body))
                conversation = path.split("/")[2] if path.startswith("/conversations/") else ""
                if standin.failing:
                    status, answer = 500, {"message": "down"}
                elif method == "GET" and path.endswith("/tracker"):
                    status, answer = 200, standin.trackers.get(conversation, {"sender_id": conversation, "events": []})
                else:
                    status, answer = 200, {"sender_id": conversation, "events": []}
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take_calls(self) -> list[tuple[str, str, dict, object]]:
        """The calls so far (tracker reads left out: pages read it on every view), then forget them."""
        with self.lock:
            calls, self.calls = self.calls, []
        return [c for c in calls if not (c[0] == "GET" and c[1].endswith("/tracker"))]

    def stop(self) -> None:
        self.server.shutdown()


class ConsoleProcess:
    """`python -m console` on a database of its own in `work`, calling `rasa` (anything with a
    `port`) as its Rasa server; `env` adds to or overrides its environment."""

    def __init__(self, work: Path, rasa: Any, **env: str):
        import pytest

        from infra import db
        from navigator import schema

        self.url = f"sqlite:///{work}/navigator.db"
        self.engine = db.make_engine(self.url)
        schema.create_schema(self.engine)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log = work / "console.log"
        environment = {**os.environ, "DATABASE_URL": self.url, "CONSOLE_PORT": str(port),
                       "RASA_PORT": str(rasa.port), "RASA_API_TOKEN": RASA_TOKEN, **env}
        environment.pop("CONSOLE_RASA_URL", None)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "console"], cwd=ROOT, env=environment,
                                            stdout=log, stderr=subprocess.STDOUT)
        if not wait_until(lambda: http("GET", f"{self.base}/healthz", timeout=2)[0] == 200, 60,
                          process=self.process):
            self.stop()
            pytest.fail("console did not start: " + self.log.read_text(errors="replace")[-3000:])

    def session(self):
        from infra import db

        return db.session_scope(self.engine)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def console_with_advocates(folder, rasa, names, **env) -> ConsoleProcess:
    """A console on a database of its own in `folder`, with these advocates (password PASSWORD)."""
    from console.accounts import add_advocate  # here: the HTTP-only users of this module (benchmarks) need no console

    process = ConsoleProcess(folder, rasa, **env)
    with process.session() as session:
        for name in names:
            add_advocate(session, name, PASSWORD)
    return process


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Keeps cookies like a browser, follows no redirects (tests look at them), and reads the
    CSRF token of the last form it got."""

    def __init__(self, base: str):
        self.base = base
        self.jar = cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.csrf: Optional[str] = None
        self.set_cookies: list[str] = []

    def request(self, method: str, path: str, form: Optional[dict] = None, headers: Optional[dict] = None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        body = response.read().decode(errors="replace")
        self.set_cookies = response.headers.get_all("Set-Cookie") or []
        self.headers = response.headers
        found = re.search(r'name="csrf_token" value="([^"]+)"', body)
        if found:
            self.csrf = found.group(1)
        return response.status, body

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, form: Optional[dict] = None, csrf: bool = True, headers: Optional[dict] = None):
        form = dict(form or {})
        if csrf and self.csrf:
            form.setdefault("csrf_token", self.csrf)
        return self.request("POST", path, form, headers)

    def sign_in(self, name: str, password: str = PASSWORD, next_path: str = "/"):
        self.get("/login")
        return self.post("/login", {"name": name, "password": password, "next": next_path})

    def json(self, path: str):
        status, body = self.get(path)
        return status, (json.loads(body) if body.startswith(("{", "[")) else body)
