"""The console facing the outside: per-address limits on sign-in and on the JSON API (429 with
Retry-After, other addresses unaffected), the security headers on every answer (error pages
too), and production mode: with its secrets it starts, and its session cookie is Secure even
though the TLS proxy speaks plain HTTP to it; without them it does not start."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from navigator.advocates import add_advocate
from navigator.config import ROOT
from navigator.tokens import create_token
from tests.console.conftest import PASSWORD, Browser, ConsoleProcess
from tests.helpers import http

PRODUCTION = {"NAVIGATOR_ENV": "production", "NAVIGATOR_SECRET_KEY": "s" * 43, "RASA_API_TOKEN": "r" * 43,
              "CONSOLE_PUBLIC_URL": "https://console.example.org"}


@pytest.fixture(scope="module")
def hardened(tmp_path_factory, rasa):
    """A console in production mode behind a proxy that names the client (SANIC_PROXIES_COUNT),
    with low limits: 3 sign-in attempts and 3 API calls per address at once."""
    process = ConsoleProcess(tmp_path_factory.mktemp("hardened"), rasa, **PRODUCTION, SANIC_PROXIES_COUNT="1",
                             RATE_LIMIT_SIGN_IN_BURST="3", RATE_LIMIT_SIGN_IN_PER_MINUTE="1",
                             RATE_LIMIT_CONSOLE_API_BURST="3", RATE_LIMIT_CONSOLE_API_PER_MINUTE="1")
    with process.session() as session:
        add_advocate(session, "rosa", PASSWORD)
        process.api_token = create_token(session, "integration")
    yield process
    process.stop()


class BehindTheProxy(Browser):
    """A browser on the far side of the TLS proxy: it gets the console's Secure cookies over
    HTTPS and sends them back, though the test talks plain HTTP to the console."""

    def request(self, *args, **kwargs):
        answer = super().request(*args, **kwargs)
        for cookie in self.jar:
            cookie.secure = False
        return answer


def from_address(address: str) -> dict:
    return {"X-Forwarded-For": address}


def assert_security_headers(headers) -> None:
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_sign_in_attempts_from_one_address_are_limited_and_other_addresses_are_not(hardened):
    guesser = BehindTheProxy(hardened.base)
    guesser.request("GET", "/login", headers=from_address("203.0.113.5"))
    for name in ("ana", "ben", "cleo"):  # different names: the per-name lock-out never comes into it
        status, _ = guesser.post("/login", {"name": name, "password": "wrong guess 123"},
                                 headers=from_address("203.0.113.5"))
        assert status == 401
    status, page = guesser.post("/login", {"name": "rosa", "password": PASSWORD}, headers=from_address("203.0.113.5"))
    assert status == 429 and "Too many sign-in attempts" in page and int(guesser.headers["Retry-After"]) >= 1
    assert_security_headers(guesser.headers)
    advocate = BehindTheProxy(hardened.base)
    advocate.request("GET", "/login", headers=from_address("203.0.113.6"))
    status, _ = advocate.post("/login", {"name": "rosa", "password": PASSWORD}, headers=from_address("203.0.113.6"))
    assert status == 303


def test_api_calls_from_one_address_are_limited_and_other_addresses_are_not(hardened):
    def call(address):
        return http("GET", hardened.base + "/api/handoffs?status=open",
                    headers={"Authorization": f"Bearer {hardened.api_token}", **from_address(address)})

    assert [call("203.0.113.20")[0] for _ in range(3)] == [200, 200, 200]
    assert call("203.0.113.20") == (429, {"error": "too many requests"})
    assert call("203.0.113.21")[0] == 200


@pytest.mark.parametrize("path", ["/login", "/", "/healthz", "/static/console.js", "/static/console.css",
                                  "/api/handoffs", "/no-such-page"])
def test_every_answer_carries_the_security_headers(hardened, path):
    browser = BehindTheProxy(hardened.base)
    browser.request("GET", path, headers=from_address("198.51.100.30"))
    assert_security_headers(browser.headers)


def test_in_production_the_session_cookie_is_secure_behind_the_proxy(hardened):
    browser = BehindTheProxy(hardened.base)
    browser.request("GET", "/login", headers=from_address("198.51.100.31"))
    status, _ = browser.post("/login", {"name": "rosa", "password": PASSWORD}, headers=from_address("198.51.100.31"))
    session_cookie = next(c for c in browser.set_cookies if c.startswith("nav_session="))
    assert status == 303 and "Secure" in session_cookie and "HttpOnly" in session_cookie


def test_in_production_the_console_does_not_start_without_its_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NAVIGATOR_SECRET_KEY", "RASA_API_TOKEN")}
    env.update(NAVIGATOR_ENV="production", CONSOLE_PUBLIC_URL="http://console.example.org",
               DATABASE_URL=f"sqlite:///{tmp_path}/navigator.db")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "console"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and time.monotonic() - started < 30
    lines = [line for line in result.stderr.splitlines() if line.startswith("console: not starting")]
    assert len(lines) == 3 and all(name in "\n".join(lines) for name in
                                   ("NAVIGATOR_SECRET_KEY", "RASA_API_TOKEN", "CONSOLE_PUBLIC_URL"))
