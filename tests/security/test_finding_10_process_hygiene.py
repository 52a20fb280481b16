"""Finding 10 (issue 14), its process-hygiene part: secrets on command lines and in URLs, an action
server anyone local could call, database files anyone local could read.

The finding: `navigator serve` started Rasa with `--auth-token TOKEN`, which every local user
reads in /proc/PID/cmdline; the console sent that token as `?token=` in every URL to Rasa's API,
where access logs and proxies keep it; the action server on loopback answered anyone, so any
local process, or a request forged through another service (SSRF), could run the actions with a
made-up tracker (open an emergency handoff, page the advocates); and var/*.db (survivors'
conversations) was created with the default umask, readable by every local user.

The attack, performed here: read the command lines of the running Rasa server, action server,
console and `navigator serve`; record the requests the console's Rasa client sends; POST a
forged emergency to the action server's /webhook without the secret, and with a wrong one; look
at the modes of the files and folders the navigator creates, and at its processes' umask.

What must happen: no command line holds the Rasa API token, the action server's secret or the
secret key; the console's requests carry no token in a URL (only a JWT that expires within a
minute, in a header), and Rasa accepts that and refuses a call with no token, a JWT signed with
another key, or an expired one; the forged call gets 401 and opens no handoff, while the Rasa
server, which sends the secret, still gets its actions run (a search answers with results);
databases with their -wal/-shm, var/secret_key and var/rasa_api_token are 0600, var/ is 0700,
and every process of `navigator serve` has umask 077.
"""
from __future__ import annotations

import asyncio
import os
import stat
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select

from console.rasa_api import CALL_LIFETIME_S, RasaApi
from conversations.handoffs import Handoff
from infra import db, secret_key
from navigator import action_server
from navigator import serve as launcher
from tests.helpers import http


class RecordingRasa:
    """Answers every request with an empty tracker and keeps its request line and headers."""

    def __init__(self):
        self.requests: list[tuple[str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append((self.requestline, dict(self.headers.items())))
                raw = b'{"sender_id": "x", "events": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def every_call(api: RasaApi, conversation: str) -> None:
    await api.pause(conversation)
    await api.say_as_advocate(conversation, "I am here with you.", "maria")
    await api.utter(conversation, "utter_handoff_unclaimed", place="Boise")
    await api.resume(conversation)
    await api.tracker(conversation)
    await api.close()


def test_the_console_sends_rasa_no_token_in_any_url_only_a_short_lived_jwt():
    token = "console-rasa-token-" + uuid.uuid4().hex
    rasa = RecordingRasa()
    try:
        asyncio.run(every_call(RasaApi(rasa.url, token), "sms-3f2a"))
    finally:
        rasa.server.shutdown()
    assert len(rasa.requests) == 7
    for request_line, headers in rasa.requests:
        assert token not in request_line and "token=" not in request_line
        assert not any(token in value for value in headers.values())  # the token itself never travels
        scheme, signed = headers["Authorization"].split(" ", 1)
        claims = jwt.decode(signed, token, algorithms=["HS256"])
        assert scheme == "Bearer" and claims["user"]["role"] == "admin"
        assert claims["exp"] - time.time() <= CALL_LIFETIME_S
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(signed, "another-key-of-the-same-length-" + token, algorithms=["HS256"])


def test_a_secret_on_the_rasa_server_s_command_line_is_refused(capsys):
    from navigator.rasa_server import rasa_arguments

    for given in (["--auth-token", "s3cret"], ["--auth-tok=s3cret"], ["-ts3cret"], ["--jwt-secret", "s3cret"]):
        with pytest.raises(SystemExit):
            rasa_arguments(["run", "--enable-api", *given], env={"RASA_API_TOKEN": "t" * 40})
        assert "s3cret" not in capsys.readouterr().err  # not repeated in the message either
    with pytest.raises(SystemExit):
        rasa_arguments(["run", "--enable-api"], env={})  # an API with nothing guarding it
    command = launcher.rasa_server_command(Path("model.tar.gz"), {"RASA_API_TOKEN": "t" * 40}, "5005")
    assert not any("t" * 40 in part for part in command)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_and_shm_are_private_even_under_a_lax_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        engine = db.make_engine(f"sqlite:///{tmp_path}/new/navigator.db")
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            connection.commit()
            files = sorted(p.name for p in (tmp_path / "new").iterdir())
            assert files == ["navigator.db", "navigator.db-shm", "navigator.db-wal"]
            assert {name: mode(tmp_path / "new" / name) for name in files} == dict.fromkeys(files, 0o600)
        engine.dispose()
        assert mode(tmp_path / "new") == 0o700
        older = tmp_path / "older.db"  # made by an earlier version, readable by everyone
        older.touch(mode=0o644)
        db.make_engine(f"sqlite:///{older}").dispose()
        assert mode(older) == 0o600
    finally:
        os.umask(previous)


def test_the_kept_rasa_api_token_and_its_folder_are_private(tmp_path, monkeypatch):
    previous = os.umask(0o022)
    try:
        monkeypatch.delenv("RASA_API_TOKEN", raising=False)
        monkeypatch.setattr(secret_key, "VAR_DIR", tmp_path / "var")
        assert len(secret_key.rasa_api_token()) >= 32
        assert mode(tmp_path / "var") == 0o700 and mode(tmp_path / "var" / "rasa_api_token") == 0o600
    finally:
        os.umask(previous)


def command_lines(stack) -> dict[str, bytes]:
    pids = {"navigator serve": stack.process.pid, **stack.children()}
    return {name: Path(f"/proc/{pid}/cmdline").read_bytes() for name, pid in pids.items()}


@pytest.mark.e2e
def test_no_command_line_of_the_navigator_holds_a_secret(channel_stack):  # noqa: F811
    lines = command_lines(channel_stack)
    assert {"rasa", "actions", "console"} <= set(lines), lines
    secrets = [channel_stack.rasa_api_token, action_server.shared_secret()]
    if channel_stack.env.get("NAVIGATOR_SECRET_KEY"):
        secrets.append(channel_stack.env["NAVIGATOR_SECRET_KEY"])
    for name, line in lines.items():
        assert not any(secret.encode() in line for secret in secrets), name


def rasa_tracker(stack, conversation: str, authorization: str = None):
    headers = {"Authorization": authorization} if authorization else {}
    return http("GET", f"{stack.rasa}/conversations/{conversation}/tracker", headers=headers)[0]


def signed(key: str, expires_in: int) -> str:
    now = int(time.time())
    token = jwt.encode({"user": {"username": "x", "role": "admin"}, "iat": now, "exp": now + expires_in}, key,
                       algorithm="HS256")
    return f"Bearer {token}"


@pytest.mark.e2e
def test_rasa_takes_the_console_s_header_and_refuses_calls_without_a_valid_one(channel_stack):  # noqa: F811
    conversation = f"hygiene-{uuid.uuid4().hex[:8]}"
    channel_stack.say(conversation, "hello")
    api = RasaApi(channel_stack.rasa, channel_stack.rasa_api_token)

    async def read() -> dict:
        try:
            return await api.tracker(conversation)
        finally:
            await api.close()

    assert any(event.get("text") == "hello" for event in asyncio.run(read())["events"])
    assert rasa_tracker(channel_stack, conversation) == 401
    assert rasa_tracker(channel_stack, conversation, signed("not-the-rasa-api-token", 60)) == 401
    assert rasa_tracker(channel_stack, conversation, signed(channel_stack.rasa_api_token, -3600)) == 401  # expired
    assert rasa_tracker(channel_stack, conversation, signed(channel_stack.rasa_api_token, 60)) == 200


def forged_call(action: str, sender: str) -> dict:
    """What Rasa sends the action server, made up: an emergency said in a conversation."""
    message = {"text": "he has a gun", "intent": {"name": "emergency", "confidence": 1.0},
               "entities": [{"entity": "danger_type", "value": "danger"}]}
    return {"next_action": action, "sender_id": sender, "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": sender, "slots": {}, "latest_message": message, "paused": False,
                        "followup_action": None, "active_loop": {}, "latest_action_name": "action_listen",
                        "latest_input_channel": "rest",
                        "events": [{"event": "user", "text": "he has a gun", "parse_data": message,
                                    "input_channel": "rest"}]}}


@pytest.mark.e2e
def test_a_forged_call_to_the_action_server_without_the_secret_runs_nothing(channel_stack):  # noqa: F811
    actions = f"http://127.0.0.1:{channel_stack.ports['ACTION_PORT']}"
    sender = f"forged-{uuid.uuid4().hex[:8]}"
    for authorization in (None, "Bearer not-the-secret", f"Basic {action_server.shared_secret()}"):
        headers = {"Authorization": authorization} if authorization else {}
        assert http("POST", actions + "/webhook", forged_call("action_emergency", sender), headers=headers)[0] == 401
        assert http("GET", actions + "/actions", headers=headers)[0] == 401
    time.sleep(1)  # what a handoff would have taken to be stored
    with db.session_scope(db.make_engine(channel_stack.env["DATABASE_URL"])) as session:
        assert session.execute(select(Handoff).where(Handoff.conversation_id == sender)).first() is None
    assert http("GET", actions + "/health")[0] == 200  # readiness stays open: it says nothing

    secret = {"Authorization": f"Bearer {action_server.shared_secret()}"}
    status, listed = http("GET", actions + "/actions", headers=secret)
    assert status == 200 and {"name": "action_find_help"} in listed
    reply = channel_stack.say(f"hygiene-{uuid.uuid4().hex[:8]}", "I need a shelter in Boise")
    assert "Foothills Quiet House" in reply  # the Rasa server sends the secret: its search action ran


@pytest.mark.e2e
def test_the_navigator_s_files_are_private_and_its_processes_create_only_private_ones(channel_stack):  # noqa: F811
    channel_stack.say(f"hygiene-{uuid.uuid4().hex[:8]}", "hello")  # the tracker store has written
    databases = [path for path in channel_stack.work.iterdir() if ".db" in path.name]
    assert {"navigator.db", "tracker.db"} <= {path.name for path in databases}
    assert {path.name: mode(path) for path in databases} == {path.name: 0o600 for path in databases}
    var = launcher.VAR_DIR
    assert mode(var) == 0o700
    for kept in ("secret_key", "rasa_api_token"):
        if (var / kept).exists():
            assert mode(var / kept) == 0o600, kept
    for name, pid in channel_stack.children().items():
        umask = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Umask:"))
        assert umask.split()[1] == "0077", name
