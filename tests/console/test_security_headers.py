"""The console facing the outside: per-address limits on sign-in and on the JSON API (429 with
Retry-After, other addresses unaffected), the security headers on every answer (error pages
too), and production mode: with its secrets it starts, and its session cookie is Secure (and
`__Host-` named) even though the TLS proxy speaks plain HTTP to it; without them it does not
start. Over HTTPS (as the proxy says) answers carry HSTS and the cookies are `__Host-` cookies;
over plain HTTP on localhost neither, and each request reads only the cookie names it sets."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from console.accounts import add_advocate
from console.tokens import create_token
from infra.config import ROOT
from tests.helpers import PASSWORD, Browser, ConsoleProcess, http

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


HSTS = "max-age=31536000; includeSubDomains"


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
    for name in ("ana", "ben", "cleo"):  # different names, few failures: no lock-out comes into it
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
    session_cookie = next(c for c in browser.set_cookies if c.startswith("__Host-nav_session="))
    assert status == 303 and "Secure" in session_cookie and "HttpOnly" in session_cookie
    assert "Path=/" in session_cookie and "domain" not in session_cookie.lower()
    assert browser.headers["Strict-Transport-Security"] == HSTS  # Secure by setting: the proxy speaks TLS
    assert browser.request("GET", "/", headers=from_address("198.51.100.31"))[0] == 200


def test_in_production_the_console_does_not_start_without_its_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("NAVIGATOR_SECRET_KEY", "RASA_API_TOKEN")}
    env.update(NAVIGATOR_ENV="production", CONSOLE_PUBLIC_URL="http://console.example.org",
               DATABASE_URL=f"sqlite:///{tmp_path}/navigator.db")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "console"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and time.monotonic() - started < 30
    lines = [line for line in result.stderr.splitlines() if line.startswith("console: not starting")]
    assert len(lines) == 4 and all(name in "\n".join(lines) for name in
                                   ("NAVIGATOR_SECRET_KEY", "RASA_API_TOKEN", "CONSOLE_PUBLIC_URL", "no proxy setting"))


# --- HTTPS as the proxy tells it: HSTS and __Host- cookies ----------------------------------------

@pytest.fixture(scope="module")
def proxied(tmp_path_factory, rasa):
    """A console outside production mode (CONSOLE_COOKIE_SECURE=auto) behind a proxy it is told
    of (SANIC_PROXIES_COUNT=1): HTTPS is what the proxy's X-Forwarded-Proto says."""
    process = ConsoleProcess(tmp_path_factory.mktemp("proxied"), rasa, SANIC_PROXIES_COUNT="1")
    with process.session() as session:
        add_advocate(session, "rosa", PASSWORD)
    yield process
    process.stop()


def over(scheme: str, address: str = "198.51.100.40") -> dict:
    return {"X-Forwarded-For": address, "X-Forwarded-Proto": scheme}


def test_over_https_answers_carry_hsts_and_the_cookies_are_host_only(proxied):
    browser = BehindTheProxy(proxied.base)
    browser.request("GET", "/login", headers=over("https"))
    assert browser.headers["Strict-Transport-Security"] == HSTS
    (csrf_cookie,) = browser.set_cookies
    assert csrf_cookie.startswith("__Host-nav_signin_csrf=") and "Secure" in csrf_cookie and "Path=/" in csrf_cookie
    status, _ = browser.post("/login", {"name": "rosa", "password": PASSWORD}, headers=over("https"))
    assert status == 303
    (session_cookie,) = [c for c in browser.set_cookies if "nav_session=" in c]
    assert session_cookie.startswith("__Host-nav_session=") and "Secure" in session_cookie
    assert "domain" not in session_cookie.lower()
    status, page = browser.request("GET", "/", headers=over("https"))
    assert status == 200 and "Signed in as <strong>rosa</strong>" in page


def test_over_https_a_cookie_without_the_prefix_is_not_a_session(proxied):
    """A cookie another host or a plain-HTTP answer could have planted (no __Host- prefix) is ignored."""
    plain = BehindTheProxy(proxied.base)
    plain.request("GET", "/login", headers=over("http"))
    assert plain.post("/login", {"name": "rosa", "password": PASSWORD}, headers=over("http"))[0] == 303
    assert [c.name for c in plain.jar if "nav_session" in c.name] == ["nav_session"]
    assert plain.request("GET", "/", headers=over("http"))[0] == 200  # good over HTTP, where it was set
    assert plain.request("GET", "/", headers=over("https"))[0] == 303  # worth nothing over HTTPS
    planted_csrf = BehindTheProxy(proxied.base)
    planted_csrf.request("GET", "/login", headers=over("http"))  # a sign-in CSRF cookie without the prefix
    status, _ = planted_csrf.post("/login", {"name": "rosa", "password": PASSWORD}, headers=over("https"))
    assert status == 403


def test_over_plain_http_there_is_no_hsts_and_the_cookies_have_their_plain_names(proxied):
    browser = BehindTheProxy(proxied.base)
    for headers in (over("http"), {}):  # as the proxy says, and straight to the socket (development)
        browser.request("GET", "/login", headers=headers)
        assert "Strict-Transport-Security" not in browser.headers
        (csrf_cookie,) = browser.set_cookies
        assert csrf_cookie.startswith("nav_signin_csrf=") and "Secure" not in csrf_cookie
