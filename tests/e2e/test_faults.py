"""Faults a survivor must not feel: a restart of every process loses no conversation and no
handoff; with the action server stopped the next message still gets 911 and the 24/7 lines (and
an emergency its handoff); a crashed action server or console is restarted by `navigator serve`
within seconds while the rest keeps serving, and /healthz shows it; a directory that cannot be
read answers with the lines too; the console's /healthz says 503 while its database is
unreachable."""
from __future__ import annotations

import json
import os
import re
import signal
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import yaml
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.find_help import ActionAnswerHours, ActionFindHelp
from infra import db
from infra.config import ROOT
from navigator import schema
from navigator.serve import STOP_GRACE_S
from navigator.setup import model_path
from tests.channels.tcp_proxy import DroppableNetwork
from tests.helpers import Stack, free_port, http, make_tracker, wait_until

SAMPLE_DIRECTORY = ROOT.parent / "shared" / "eval" / "sample" / "directory_hsds3"
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
LINES = ("911", "1-800-799-7233", "1-888-373-7888")
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
UNREACHABLE_DB = "postgresql://nobody@127.0.0.1:1/unreachable"  # refused at once


def sender() -> str:
    return f"faults-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    if not SAMPLE_DIRECTORY.exists():
        pytest.skip("../shared/eval/sample is not here")
    stack = Stack(tmp_path_factory.mktemp("faults"))
    stack.start()
    try:
        imported = stack.cli("import-hsds", str(SAMPLE_DIRECTORY))
        assert imported.returncode == 0, imported.stderr
        created = stack.cli("tokens", "create", "faults")
        assert created.returncode == 0, created.stderr
        stack.token = created.stdout.strip().splitlines()[-1]
        yield stack
    finally:
        stack.stop()


def open_handoff_of(stack, conversation: str):
    found = [h for h in stack.handoffs() if h["conversation_id"] == conversation]
    return found[0] if found else None


@pytest.mark.e2e
def test_restarting_every_process_loses_no_conversation_and_no_handoff(stack):
    searching, handed_off = sender(), sender()
    assert "ZIP" in stack.say(searching, "i need a shelter")  # the bot asks where
    stack.say(handed_off, "i want to talk to a person")
    assert wait_until(lambda: open_handoff_of(stack, handed_off), 5, interval=0.2)

    assert stack.stop() == 0  # SIGTERM, as an operator or a reboot stops it
    stack.start()  # the same databases

    handoff = open_handoff_of(stack, handed_off)
    assert handoff and (handoff["priority"], handoff["status"], handoff["channel"]) == ("request", "open", "rest")
    reply = stack.say(searching, "Boise")  # answers the question asked before the restart
    assert "Foothills Quiet House" in reply and "What kind of help" not in reply


def serve_children(stack):
    """(pid, command line) of the processes `navigator serve` started (its process group)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == stack.process.pid:
            continue
        try:
            if os.getpgid(int(entry.name)) == stack.process.pid:
                children.append((int(entry.name), (entry / "cmdline").read_bytes().split(b"\0")))
        except (OSError, ProcessLookupError):
            pass
    return children


PROCESS_MARKS = {"actions": (b"run", b"actions"), "console": (b"-m", b"navigator.console_server"), "rasa": (b"run", b"--enable-api")}


def child_pid(stack, name: str) -> int:
    """The pid of one of `navigator serve`'s processes (a zombie, with no command line, is none)."""
    (pid,) = [pid for pid, command in serve_children(stack) if all(mark in command for mark in PROCESS_MARKS[name])]
    return pid


def child_environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(line.decode().split("=", 1) for line in raw if b"=" in line)


def healthz(stack):
    return http("GET", f"{stack.console}/healthz", timeout=10)


def restarts(stack) -> dict:
    """The restarts /healthz counts, once it says everything is up again."""
    assert wait_until(lambda: healthz(stack)[0] == 200, 60), healthz(stack)
    return healthz(stack)[1]["restarts"]


@pytest.mark.e2e
def test_with_the_action_server_stopped_the_survivor_still_gets_911_and_the_24_7_lines(stack):
    """`navigator serve` restarts a crashed action server within seconds, so to keep it down as
    long as the test needs, its supervisor is paused (SIGSTOP) while it is killed: as when the
    processes run apart (scale-out), or in the seconds before the restart. Resumed, the supervisor
    starts it again and the same conversation goes on with results."""
    actions_url = f"http://127.0.0.1:{stack.ports['ACTION_PORT']}/health"
    pid = child_pid(stack, "actions")
    os.kill(stack.process.pid, signal.SIGSTOP)
    try:
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: not _answers(actions_url), 30, interval=0.2)
        status, health = healthz(stack)  # the fault, for monitoring
        assert status == 503 and {k: v for k, v in health.items() if k != "restarts"} == {
            "status": "unavailable", "actions": "unreachable"}

        conversation = sender()
        reply = stack.say(conversation, "i need a shelter in Boise")
        assert all(line in reply for line in LINES) and "Foothills" not in reply
        emergency = sender()
        reply = stack.say(emergency, "he has a gun and he's here")
        assert "911" in reply
        handoff = open_handoff_of(stack, emergency)
        assert handoff and handoff["priority"] == "emergency"
        status, kept = http("GET", f"{stack.rasa}/conversations/{emergency}/tracker", headers=stack.rasa_api_headers())
        assert status == 200 and any("911" in (e.get("text") or "") for e in kept["events"] if e["event"] == "bot")
        assert "he has a gun" not in stack.log.read_text(errors="replace")
    finally:
        os.kill(stack.process.pid, signal.SIGCONT)

    assert wait_until(lambda: _answers(actions_url), 30, interval=0.2)  # restarted by navigator serve
    assert "Foothills Quiet House" in stack.say(conversation, "i need a shelter in Boise")
    assert wait_until(lambda: healthz(stack)[0] == 200, 30)


@pytest.mark.e2e
def test_a_killed_action_server_is_restarted_within_30_s_and_the_rest_keeps_serving(stack):
    before = restarts(stack)
    others = {name: child_pid(stack, name) for name in ("rasa", "console")}
    actions_url = f"http://127.0.0.1:{stack.ports['ACTION_PORT']}/health"
    seen = []

    def back() -> bool:
        seen.append(healthz(stack))
        return _answers(actions_url)

    killed_at = time.monotonic()
    os.kill(child_pid(stack, "actions"), signal.SIGKILL)
    assert wait_until(lambda: not _answers(actions_url), 5, interval=0.05)
    assert wait_until(back, 30 - (time.monotonic() - killed_at), interval=0.2)
    print(f"the action server answered again {time.monotonic() - killed_at:.1f} s after SIGKILL")

    assert any(status == 503 and health.get("actions") in ("unreachable", "restarting") for status, health in seen)
    reply = stack.say(sender(), "i need a shelter in Boise")
    assert "Foothills Quiet House" in reply
    assert restarts(stack) == {**before, "actions": before["actions"] + 1}
    assert {name: child_pid(stack, name) for name in others} == others and stack.process.poll() is None
    assert re.search(r"navigator serve: actions exited \(killed by SIGKILL\); restarting it in \d+ s\n",
                     stack.log.read_text(errors="replace"))

    status_file = Path(child_environ(others["console"])["NAVIGATOR_STATUS_FILE"])
    assert json.loads(status_file.read_text()) == {"processes": {  # names, states, counts: nothing else
        name: {"state": "up", "restarts": count} for name, count in restarts(stack).items()}}


@pytest.mark.e2e
def test_a_killed_console_comes_back_and_counts_its_restart(stack):
    before = restarts(stack)
    others = {name: child_pid(stack, name) for name in ("rasa", "actions")}
    os.kill(child_pid(stack, "console"), signal.SIGKILL)
    assert wait_until(lambda: healthz(stack) == (200, {"status": "ok", "restarts": {
        **before, "console": before["console"] + 1}}), 30, interval=0.2)
    assert isinstance(stack.handoffs(), list)  # advocates' API back, same token
    assert {name: child_pid(stack, name) for name in others} == others


@pytest.mark.e2e
def test_sigterm_to_navigator_serve_stops_every_process_it_started(stack):
    """After the restarts above (keep it the last test on the stack): the processes started again
    are stopped too, and the status file goes."""
    status_file = Path(child_environ(child_pid(stack, "console"))["NAVIGATOR_STATUS_FILE"])
    assert len(serve_children(stack)) >= 3
    os.kill(stack.process.pid, signal.SIGTERM)  # navigator serve alone, not its group
    assert stack.process.wait(STOP_GRACE_S + 30) == 0
    assert serve_children(stack) == []
    assert not status_file.parent.exists()


def _answers(url: str) -> bool:
    try:
        return http("GET", url, timeout=2)[0] == 200
    except OSError:
        return False


# --- The directory and the console's database unreachable -------------------------------------

def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, DOMAIN)
    return [m.get("response") for m in dispatcher.messages], events


def test_an_unreachable_directory_answers_with_the_24_7_lines(monkeypatch, caplog):
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE_DB)
    search = make_tracker({"service_kind": "shelter", "place": "Boise, ID"}, "shelter in boise", "need_shelter",
                          [{"entity": "place", "value": "Boise, ID", "start": 11, "end": 16}])
    hours = make_tracker({"service_kind": "shelter", "place": "Boise, ID", "page_start": 0}, "what are the hours",
                         "ask_hours")
    for tracker in (search, hours):
        said, events = run(ActionFindHelp() if tracker is search else ActionAnswerHours(), tracker)
        assert said == ["utter_service_trouble"]
        assert not [e for e in events if e["name"] in ("service_kind", "place")]  # both kept for a retry
    text = DOMAIN["responses"]["utter_service_trouble"][0]["text"]
    assert all(line in text for line in LINES + ("988",))
    logged = [r.getMessage() for r in caplog.records if r.name == "bot.actions.find_help"]
    assert logged and all(m == "the directory could not be read: OperationalError" for m in logged)


@pytest.fixture
def postgres_url():
    name = f"navigator_faults_{uuid.uuid4().hex[:8]}"
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # no PostgreSQL on this machine
        if os.environ.get("CI"):
            pytest.fail(f"CI must run this test: PostgreSQL unreachable ({type(error).__name__})")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    schema.create_schema(db.make_engine(url))
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_console_healthz_is_503_while_its_database_is_unreachable(postgres_url, tmp_path):
    from tests.helpers import ConsoleProcess

    network = DroppableNetwork(5432)
    through_network = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{network.port}")
    console = ConsoleProcess(tmp_path, SimpleNamespace(port=free_port()), DATABASE_URL=through_network)
    try:
        assert http("GET", console.base + "/healthz")[0] == 200
        network.drop()
        status, body = http("GET", console.base + "/healthz", timeout=30)
        assert status == 503 and body["status"] == "unavailable"
        network.restore()
        assert wait_until(lambda: http("GET", console.base + "/healthz", timeout=5)[0] == 200, 30)
    finally:
        console.stop()
        network.close()
