"""Scale-out: two Rasa servers sharing one PostgreSQL tracker store and one Redis lock store
answer alternating turns of the same conversation consistently; the directory is on PostgreSQL.

Needs PostgreSQL and Redis on 127.0.0.1 (this machine kind and CI have both; a laptop may not:
the test is skipped there, but fails under CI=true so that it cannot silently stop running).
"""
from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from console.rasa_api import RasaApi
from infra.config import ROOT
from navigator.serve import action_server_command, child_environment, rasa_server_command
from navigator.setup import model_path
from tests.helpers import free_port, http, wait_until

pytestmark = pytest.mark.e2e
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
SAMPLE_DIRECTORY = ROOT.parent / "shared" / "eval" / "sample" / "directory_hsds3"
NAVIGATOR = str(Path(sys.executable).parent / "navigator")


def unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the scale-out test: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def postgres_url():
    name = f"navigator_scaleout_{uuid.uuid4().hex[:8]}"
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # no server on this machine
        unavailable(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as error:
        unavailable(f"Redis unreachable at {REDIS_URL}: {type(error).__name__}")
    return REDIS_URL


@pytest.fixture(scope="module")
def two_servers(postgres_url, redis_url, tmp_path_factory):
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    log_dir = tmp_path_factory.mktemp("scaleout")
    ports = [str(free_port()), str(free_port())]
    env_overrides = {"DATABASE_URL": postgres_url, "TRACKER_STORE_URL": postgres_url,
                     "LOCK_STORE_URL": redis_url, "ACTION_PORT": str(free_port()),
                     "RASA_API_TOKEN": uuid.uuid4().hex}
    saved = {k: os.environ.get(k) for k in env_overrides}
    os.environ.update(env_overrides)
    try:
        env = child_environment()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    imported = subprocess.run([NAVIGATOR, "import-hsds", str(SAMPLE_DIRECTORY)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    commands = [action_server_command(env)] + [rasa_server_command(model_path(), env, port) for port in ports]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log_dir / f"p{i}.log", "wb"),
                                  stderr=subprocess.STDOUT) for i, command in enumerate(commands)]
    try:
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url in urls:
            if not wait_until(lambda: http("GET", url + "/", timeout=2)[0] == 200, 300, interval=1):
                pytest.fail("a Rasa server did not start: " + "".join(
                    (log_dir / f"p{i}.log").read_text(errors="replace")[-1500:] for i in range(3)))
        yield urls, env
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def say(url: str, sender: str, text: str) -> str:
    status, replies = http("POST", url + "/webhooks/rest/webhook", {"sender": sender, "message": text})
    assert status == 200, replies
    return "\n".join(r.get("text") or "" for r in replies)


def test_alternating_turns_on_two_servers_continue_one_conversation(two_servers):
    (first, second), _ = two_servers
    sender = f"scaleout-{uuid.uuid4().hex[:8]}"
    asked = say(first, sender, "I need help with drugs")
    assert "ZIP" in asked
    assert "Missouri Bend Recovery" in say(second, sender, "Omaha, NE")  # the place answers the first server's question
    assert "Missouri Bend Recovery" not in say(first, sender, "thanks")


def test_simultaneous_turns_on_both_servers_are_serialised_by_the_lock(two_servers):
    (first, second), env = two_servers
    sender = f"scaleout-{uuid.uuid4().hex[:8]}"
    say(first, sender, "I need a lawyer")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda args: say(*args), [(first, sender, "Omaha, NE"), (second, sender, "68102")]))
    assert all("Old Market Survivor Law" in reply for reply in replies)
    jwt = RasaApi(first, env["RASA_API_TOKEN"]).call_token()  # as the console signs its calls
    status, tracker = http("GET", f"{first}/conversations/{sender}/tracker", headers={"Authorization": f"Bearer {jwt}"})
    assert status == 200
    users = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert users[0] == "I need a lawyer" and sorted(users[1:]) == ["68102", "Omaha, NE"]
    # Each user turn is followed by its own bot turn: no interleaving of the two requests.
    kinds = [e["event"] for e in tracker["events"] if e["event"] in ("user", "bot")]
    assert kinds.count("user") == 3 and kinds[0] == "user" and kinds[-1] == "bot"
