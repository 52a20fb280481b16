"""Finding 4 (issue 14): the SMS channel skipped the server policy.

The finding: the server policy (bot/channels/server_policy.py: the production-mode check, the
64 KiB body limit, the security headers) was applied by each channel that remembered to ask for
it. A Rasa server started with channels that did not ask (only the Twilio SMS line, until it was
patched; any new channel) skipped all of it: in production mode without a secret key it started
anyway, making its own (so texters' keys differed between servers); it took bodies of up to
Sanic's 100 MB, and parsed a form that large before the Twilio signature was checked; and its
answers had no security headers.

The attack, performed here: start a Rasa server the way the navigator starts one
(navigator/rasa_server.py), with a credentials file that opens ONLY the Twilio SMS channel, in production
mode: first without NAVIGATOR_SECRET_KEY, then with every setting production needs; POST a 1 MB
form, correctly signed as Twilio would sign it, to the SMS webhook; look at the headers of its
answers. And, without starting a server, build the app Rasa builds for a channel that knows
nothing of the policy (Rasa's own REST channel), and try to run an app that lacks the policy.

What must happen: without the secret key it refuses to start, saying which setting is missing;
with the settings it starts, refuses the 1 MB form with 413 before anything is processed (no
reply goes out, nothing reaches the conversation store) while a small signed text is answered;
every answer carries the security headers; an app Rasa builds for any channel keeps the policy,
and an app without it is refused at `run`.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from bot.channels import server_policy
from infra import db, production
from infra.config import ROOT
from navigator import schema
from navigator.setup import model_path
from tests.channels.test_twilio_line import new_phone, replies, sms_form
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER
from tests.helpers import WEBHOOK_URL, free_port, http, wait_until

SMS_ONLY = "bot.channels.sms.webhook.TwilioSmsInput:\n"  # credentials.yml's SMS line, and nothing else
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
                    "cache-control": "no-store"}
START_TIMEOUT_S = 300
# Set by the test, so none may come from the environment the tests run in.
OURS = ("NAVIGATOR_ENV", "NAVIGATOR_SECRET_KEY", "NAVIGATOR_SECRET_KEY_PREVIOUS", "RASA_API_TOKEN",
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WEBHOOK_URL", "TWILIO_NUMBER", "TWILIO_API_URL",
        "CONSOLE_PUBLIC_URL", "CONSOLE_COOKIE_SECURE", "SANIC_PROXIES_COUNT", "SANIC_REAL_IP_HEADER",
        "SANIC_FORWARDED_SECRET", "NAVIGATOR_NO_PROXY", "DATABASE_URL", "TRACKER_STORE_URL")


def production_environment(work: Path, twilio_url: str) -> dict[str, str]:
    """Every setting production mode asks for, with only the SMS line's own."""
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    env.update({
        "NAVIGATOR_ENV": "production", "NAVIGATOR_SECRET_KEY": "finding-4-secret-key-" + "k" * 24,
        "RASA_API_TOKEN": "finding-4-rasa-api-token-" + "t" * 20, "CONSOLE_PUBLIC_URL": "https://console.example.org",
        "NAVIGATOR_NO_PROXY": "1", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_WEBHOOK_URL": WEBHOOK_URL, "TWILIO_NUMBER": NAVIGATOR_NUMBER, "TWILIO_API_URL": twilio_url,
        "DATABASE_URL": f"sqlite:///{work}/navigator.db", "TRACKER_STORE_URL": f"sqlite:///{work}/tracker.db",
        "TRACKER_STORE_DIALECT": "sqlite", "ACTION_PORT": str(free_port()),  # no action server: not needed here
        "RASA_TELEMETRY_ENABLED": "false", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
    })
    assert production.problems(env) == [], "the test's production settings are incomplete"
    return env


def rasa_server(work: Path, env: dict[str, str], port: int) -> subprocess.Popen:
    """A Rasa server as navigator.serve starts one, but with the SMS line only."""
    credentials = work / "sms-only.yml"
    credentials.write_text(SMS_ONLY)
    log = open(work / "rasa.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "navigator.rasa_server", "run", "--model", str(model_path()), "--enable-api",
                             "--interface", "127.0.0.1", "--port", str(port), "--credentials", str(credentials),
                             "--endpoints", "endpoints.yml"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def sms_only_server(tmp_path_factory, twilio):  # noqa: F811
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    work = tmp_path_factory.mktemp("sms-only")
    env = production_environment(work, twilio.url)
    schema.create_schema(db.make_engine(env["DATABASE_URL"]))
    port = free_port()
    process = rasa_server(work, env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until(lambda: http("GET", url + "/", timeout=2)[0] == 200, START_TIMEOUT_S, interval=1,
                          process=process):
            pytest.fail("the SMS-only Rasa server did not start: " + (work / "rasa.log").read_text()[-3000:])
        yield url, work, env
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def raw_post(url: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
    """(status, headers) of a POST sent over a plain socket: Sanic answers 413 and closes as soon as
    it reads the length, so the client may be cut off while it still sends the body."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        head = "".join(f"{name}: {value}\r\n" for name, value in
                       {"Host": parts.netloc, "Content-Length": str(len(body)), **headers}.items())
        connection.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
        try:
            connection.sendall(body)
        except OSError:
            pass  # refused before it was all read
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, *header_lines = answer.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    return int(status_line.split()[1]), {k.strip().lower(): v.strip() for k, v in
                                         (line.split(":", 1) for line in header_lines)}


def conversation_events(work: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{work}/tracker.db")
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT COUNT(*) FROM events")).scalar_one()
    finally:
        engine.dispose()


def has_security_headers(headers: dict[str, str]) -> bool:
    return all(headers.get(name) == value for name, value in SECURITY_HEADERS.items()) \
        and "default-src 'none'" in headers.get("content-security-policy", "")


@pytest.mark.e2e
def test_in_production_an_sms_only_server_without_the_secret_key_refuses_to_start(tmp_path, twilio):  # noqa: F811
    env = production_environment(tmp_path, twilio.url)
    del env["NAVIGATOR_SECRET_KEY"]
    process = rasa_server(tmp_path, env, free_port())
    try:
        assert process.wait(120) == 2
    finally:
        if process.poll() is None:
            process.kill()
    said = (tmp_path / "rasa.log").read_text()
    assert "not starting in production mode: NAVIGATOR_SECRET_KEY is not set" in said
    assert "Rasa server is up" not in said and not (tmp_path / "tracker.db").exists()


@pytest.mark.e2e
def test_a_megabyte_form_to_the_sms_webhook_is_refused_before_anything_is_processed(sms_only_server, twilio):  # noqa: F811
    url, work, _env = sms_only_server
    phone = new_phone()
    form = sms_form(phone, "I need a shelter in Boise " + "x" * (1024 * 1024))
    signature = RequestValidator(AUTH_TOKEN).compute_signature(WEBHOOK_URL, form)  # as Twilio itself would sign it
    status, headers = raw_post(url, "/webhooks/twilio/webhook",
                               {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
                               urllib.parse.urlencode(form).encode())
    assert status == 413
    assert has_security_headers(headers)
    assert twilio.to(phone) == [] and conversation_events(work) == 0  # no reply, nothing reached the conversation

    small = sms_form(phone, "I need a shelter in Boise")  # the same line takes an ordinary text
    status, headers = raw_post(url, "/webhooks/twilio/webhook",
                               {"Content-Type": "application/x-www-form-urlencoded",
                                "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(WEBHOOK_URL, small)},
                               urllib.parse.urlencode(small).encode())
    assert status == 200 and has_security_headers(headers)
    assert replies(twilio, phone, 1)  # answered (with no action server here: the 24/7 lines)
    assert conversation_events(work) > 0


@pytest.mark.e2e
def test_every_answer_of_an_sms_only_server_carries_the_security_headers(sms_only_server):
    url, _work, _env = sms_only_server
    status, headers = raw_post(url, "/webhooks/twilio/webhook",
                               {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged"},
                               urllib.parse.urlencode(sms_form(new_phone(), "hello")).encode())
    assert status == 403 and has_security_headers(headers)
    for path in ("/", "/webhooks/twilio/", "/version", "/conversations/x/tracker"):  # the last: 401, no token
        assert has_security_headers(headers_of(url + path)), path


def headers_of(url: str) -> dict[str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return {k.lower(): v for k, v in error.headers.items()}


def test_the_app_rasa_builds_for_a_channel_that_knows_nothing_of_the_policy_keeps_it(monkeypatch):
    """Rasa's own REST channel never asks for our policy: the server installs it all the same."""
    import rasa.core.run
    from rasa.core.channels.rest import RestInput
    from sanic import Sanic

    from navigator import rasa_server as server

    monkeypatch.setattr(rasa.core.run, "configure_app", rasa.core.run.configure_app)  # undone after the test
    monkeypatch.setattr(Sanic, "run", Sanic.run)
    monkeypatch.setattr(Sanic, "test_mode", True)  # several apps of one name in this process
    server.install_policy_hook()
    app = rasa.core.run.configure_app([RestInput()], enable_api=False)
    assert app.config.REQUEST_MAX_SIZE == server_policy.REQUEST_MAX_BYTES
    assert app.config.WEBSOCKET_MAX_SIZE == server_policy.WEBSOCKET_MAX_BYTES
    assert server_policy.security_headers in app.response_middleware

    unprotected = Sanic("built-without-rasa")
    with pytest.raises(SystemExit) as refused:
        unprotected.run(host="127.0.0.1", port=free_port())
    assert refused.value.code == 2
