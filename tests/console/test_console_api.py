"""The console process: readiness, and the handoff API behind bearer tokens (CONTRACT.md)."""
import os
import subprocess
import sys

import pytest

from navigator import db
from navigator.config import ROOT
from navigator.handoffs import open_handoff
from navigator.tokens import create_token
from tests.helpers import free_port, http, wait_until


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """A running console on its own database, with one token and two handoffs."""
    work = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{work}/navigator.db"
    engine = db.make_engine(url)
    db.create_schema(engine)
    with db.session_scope(engine) as session:
        token = create_token(session, "test")
        open_handoff(session, "conv-request", "rest", "request", "request")
        open_handoff(session, "conv-emergency", "rest", "emergency", "danger")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CONSOLE_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "console"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    ready = wait_until(lambda: http("GET", f"{base}/healthz", timeout=2)[0] == 200, 60, process=process)
    if not ready:
        process.kill()
        pytest.fail("console did not start: " + process.stdout.read().decode(errors="replace")[-2000:])
    yield base, token
    process.terminate()
    process.wait(10)


def test_healthz_is_ok_when_the_database_answers(console):
    base, _ = console
    assert http("GET", f"{base}/healthz") == (200, {"status": "ok"})


def test_handoffs_need_a_valid_token(console):
    base, _ = console
    status, body = http("GET", f"{base}/api/handoffs?status=open")
    assert status == 401 and "conv-" not in str(body)
    status, body = http("GET", f"{base}/api/handoffs?status=open", headers={"Authorization": "Bearer nav_wrong"})
    assert status == 401 and "conv-" not in str(body)


def test_open_handoffs_come_most_urgent_first_with_contract_fields(console):
    base, token = console
    status, rows = http("GET", f"{base}/api/handoffs?status=open", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    assert [r["conversation_id"] for r in rows] == ["conv-emergency", "conv-request"]
    for row in rows:
        assert {"id", "conversation_id", "channel", "priority", "status", "created_at"} <= set(row)
        assert row["status"] == "open"


def test_an_unknown_status_is_a_clear_error(console):
    base, token = console
    status, body = http("GET", f"{base}/api/handoffs?status=bogus", headers={"Authorization": f"Bearer {token}"})
    assert status == 400 and "status" in body["error"]
