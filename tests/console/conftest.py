"""Fixtures for the console: a stand-in for Rasa's HTTP API that records every call, a running
console process on its own database, and a browser-like client (cookies, CSRF tokens)."""
from __future__ import annotations

from http import cookiejar
import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

import pytest
from sqlalchemy import delete

from infra import db
from console.accounts import LoginFailure, add_advocate
from infra.config import ROOT
from tests.helpers import free_port, http, wait_until

RASA_TOKEN = "standin-rasa-token"
PASSWORD = "correct horse battery"


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
    def __init__(self, work: Path, rasa: RasaStandIn, **env: str):
        self.url = f"sqlite:///{work}/navigator.db"
        self.engine = db.make_engine(self.url)
        db.create_schema(self.engine)
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
        return db.session_scope(self.engine)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


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


@pytest.fixture(scope="module")
def rasa():
    standin = RasaStandIn()
    yield standin
    standin.stop()


def console_with_advocates(folder, rasa, names, **env) -> "ConsoleProcess":
    """A console on a database of its own in `folder`, with these advocates (password PASSWORD)."""
    process = ConsoleProcess(folder, rasa, **env)
    with process.session() as session:
        for name in names:
            add_advocate(session, name, PASSWORD)
    return process


@pytest.fixture(scope="module")
def console(tmp_path_factory, rasa):
    """A console whose unclaimed-handoff notice is far away (tests of it start their own)."""
    process = console_with_advocates(tmp_path_factory.mktemp("console"), rasa, ("maria", "jun"),
                                     HANDOFF_UNCLAIMED_MINUTES="600",
                                     CONSOLE_LOCKOUT_ATTEMPTS="3", CONSOLE_LOCKOUT_ADDRESS_ATTEMPTS="6")
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def no_earlier_failures(request):
    """Each test starts with no failed sign-ins counted (all tests come from one address)."""
    if "console" in request.fixturenames:
        with request.getfixturevalue("console").session() as session:
            session.execute(delete(LoginFailure))
    yield


@pytest.fixture
def browser(console):
    return Browser(console.base)


@pytest.fixture
def maria(console, rasa):
    """A browser signed in as the advocate maria; Rasa's call log starts empty."""
    browser = Browser(console.base)
    status, _ = browser.sign_in("maria")
    assert status == 303
    assert browser.get("/")[0] == 200  # the session's CSRF token, for the forms
    rasa.take_calls()
    return browser
