"""Production mode (NAVIGATOR_ENV=production): with every secret configured the check passes; with
one missing or left to its default, each process that can start alone refuses, one line per
problem and a non-zero exit; outside production nothing changes. The same goes for how clients'
addresses are known: Sanic's proxy setting, or NAVIGATOR_NO_PROXY=1 for clients that connect directly."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from bot.channels import server_policy
from infra import production
from infra.config import ROOT
from tests.helpers import NAVIGATOR

GOOD = {
    "NAVIGATOR_ENV": "production",
    "NAVIGATOR_SECRET_KEY": "k" * 43,
    "RASA_API_TOKEN": "t" * 43,
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "TWILIO_WEBHOOK_URL": "https://navigator.example.org/webhooks/twilio/webhook",
    "CONSOLE_PUBLIC_URL": "https://console.example.org",
    "SANIC_PROXIES_COUNT": "1",
}
CHECKED = ("NAVIGATOR_SECRET_KEY", "RASA_API_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WEBHOOK_URL",
           "CONSOLE_PUBLIC_URL", "CONSOLE_COOKIE_SECURE", "NAVIGATOR_ENV", *production.PROXY_SETTINGS,
           production.NO_PROXY)


@pytest.fixture
def environment(monkeypatch):
    """A clean slate: none of the checked variables set."""
    for name in CHECKED:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_configuration_with_every_secret_passes():
    assert production.problems(GOOD) == []
    without_twilio = {k: v for k, v in GOOD.items() if not k.startswith("TWILIO_")}
    assert production.problems(without_twilio) == []  # no SMS line: no Twilio secrets needed
    without_proxy = {k: v for k, v in GOOD.items() if k != "SANIC_PROXIES_COUNT"}
    for how_addresses_are_known in ({"SANIC_REAL_IP_HEADER": "X-Real-IP"}, {"SANIC_FORWARDED_SECRET": "s3cret"},
                                    {"NAVIGATOR_NO_PROXY": "1"}):
        assert production.problems({**without_proxy, **how_addresses_are_known}) == []


@pytest.mark.parametrize("change, named", [
    ({"NAVIGATOR_SECRET_KEY": None}, "NAVIGATOR_SECRET_KEY is not set"),
    ({"NAVIGATOR_SECRET_KEY": "short-secret"}, "NAVIGATOR_SECRET_KEY has 12 characters"),
    ({"RASA_API_TOKEN": None}, "RASA_API_TOKEN is not set"),
    ({"RASA_API_TOKEN": "changeme"}, "RASA_API_TOKEN has 8 characters"),
    ({"TWILIO_AUTH_TOKEN": None}, "TWILIO_AUTH_TOKEN is not set"),
    ({"TWILIO_WEBHOOK_URL": "http://navigator.example.org/webhooks/twilio/webhook"}, "TWILIO_WEBHOOK_URL"),
    ({"CONSOLE_PUBLIC_URL": None}, "CONSOLE_PUBLIC_URL is not an https:// URL"),
    ({"CONSOLE_PUBLIC_URL": "http://console.example.org"}, "CONSOLE_PUBLIC_URL is not an https:// URL"),
    ({"CONSOLE_COOKIE_SECURE": "false"}, "CONSOLE_COOKIE_SECURE is false"),
    ({"SANIC_PROXIES_COUNT": None}, "no proxy setting"),
    ({"SANIC_PROXIES_COUNT": "0"}, "SANIC_PROXIES_COUNT is '0'"),
    ({"SANIC_PROXIES_COUNT": "one"}, "SANIC_PROXIES_COUNT is 'one'"),
    ({"NAVIGATOR_NO_PROXY": "1"}, "NAVIGATOR_NO_PROXY and SANIC_PROXIES_COUNT are both set"),
    ({"SANIC_PROXIES_COUNT": None, "NAVIGATOR_NO_PROXY": "maybe"}, "NAVIGATOR_NO_PROXY is 'maybe'"),
])
def test_each_missing_or_default_secret_is_one_clear_line(change, named):
    env = {**GOOD, **change}
    env = {k: v for k, v in env.items() if v is not None}
    found = production.problems(env)
    assert len(found) == 1 and found[0].startswith(named)


def test_outside_production_nothing_is_required(environment):
    production.exit_if_unsafe("test")  # no secret set, and no exit
    environment.setenv("NAVIGATOR_ENV", "development")
    production.exit_if_unsafe("test")


def test_the_proxy_line_says_how_to_fix_it():
    (line,) = production.problems({k: v for k, v in GOOD.items() if k != "SANIC_PROXIES_COUNT"})
    assert "SANIC_PROXIES_COUNT" in line and "SANIC_REAL_IP_HEADER" in line and "NAVIGATOR_NO_PROXY=1" in line


def test_a_misspelt_mode_stops_rather_than_running_unchecked(environment):
    environment.setenv("NAVIGATOR_ENV", "prod")
    with pytest.raises(SystemExit, match="NAVIGATOR_ENV"):
        production.exit_if_unsafe("test")


def test_in_production_a_missing_secret_stops_the_process_and_says_which(environment, capsys):
    for name, value in GOOD.items():
        environment.setenv(name, value)
    production.exit_if_unsafe("test")  # all there: goes on
    environment.delenv("RASA_API_TOKEN")
    with pytest.raises(SystemExit) as stopped:
        production.exit_if_unsafe("test")
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == "test: not starting in production mode: " + production.problems()[0]


def test_a_rasa_server_started_alone_checks_too(environment):
    environment.setenv("NAVIGATOR_ENV", "production")
    with pytest.raises(SystemExit):
        server_policy.check_settings()  # what navigator/rasa_server.py runs before Rasa starts


def test_navigator_serve_in_production_without_its_secrets_exits_at_once():
    env = {k: v for k, v in os.environ.items() if k not in CHECKED}
    env.update(NAVIGATOR_ENV="production", TWILIO_ACCOUNT_SID=GOOD["TWILIO_ACCOUNT_SID"])
    started = time.monotonic()
    result = subprocess.run([NAVIGATOR, "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and time.monotonic() - started < 30
    lines = result.stderr.strip().splitlines()
    for name in ("NAVIGATOR_SECRET_KEY", "RASA_API_TOKEN", "TWILIO_AUTH_TOKEN", "TWILIO_WEBHOOK_URL",
                 "CONSOLE_PUBLIC_URL", "no proxy setting"):
        assert sum(name in line for line in lines) == 1, result.stderr
    assert all(line.startswith("navigator serve: not starting in production mode: ") for line in lines)
    assert "ready" not in result.stdout
