"""The console process: readiness, and the JSON API for integrations behind bearer tokens (CONTRACT.md)."""
import pytest

from navigator.handoffs import open_handoff
from navigator.tokens import create_token
from tests.helpers import http


@pytest.fixture(scope="module")
def api(console):
    """The console's URL, a token, and two open handoffs (a request, then an emergency)."""
    with console.session() as session:
        token = create_token(session, "test")
        request = open_handoff(session, "api-request", "rest", "request", "request")
        emergency = open_handoff(session, "api-emergency", "twilio", "emergency", "danger")
        ids = {"request": request.id, "emergency": emergency.id}
    return console.base, token, ids


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_healthz_is_ok_when_the_database_answers(api):
    base, _, _ = api
    assert http("GET", f"{base}/healthz") == (200, {"status": "ok"})


@pytest.mark.parametrize("path", ["/api/handoffs?status=open", "/api/handoffs", "/api/handoffs?status=bogus",
                                  "/api/handoffs/1", "/api/handoffs/99999"])
@pytest.mark.parametrize("header", [None, "Bearer nav_wrong", "Basic abc", "Bearer "])
def test_without_a_valid_token_the_answer_is_401_and_nothing_else(api, path, header):
    base, _, _ = api
    status, body = http("GET", base + path, headers={"Authorization": header} if header else {})
    assert status == 401 and body == {"error": "unauthorized"}


def test_open_handoffs_come_most_urgent_first_with_contract_fields(api):
    base, token, ids = api
    status, rows = http("GET", f"{base}/api/handoffs?status=open", headers=auth(token))
    assert status == 200
    mine = [r for r in rows if r["conversation_id"].startswith("api-")]
    assert [r["conversation_id"] for r in mine] == ["api-emergency", "api-request"]
    for row in rows:
        assert {"id", "conversation_id", "channel", "priority", "status", "created_at"} <= set(row)
        assert row["status"] == "open" and row["priority"] in ("emergency", "request")


def test_one_handoff_by_id(api):
    base, token, ids = api
    status, row = http("GET", f"{base}/api/handoffs/{ids['emergency']}", headers=auth(token))
    assert status == 200
    assert (row["id"], row["conversation_id"], row["channel"], row["priority"], row["reason"]) == \
        (ids["emergency"], "api-emergency", "twilio", "emergency", "danger")
    assert http("GET", f"{base}/api/handoffs/99999", headers=auth(token)) == (404, {"error": "not found"})


def test_an_unknown_status_is_a_clear_error(api):
    base, token, _ = api
    status, body = http("GET", f"{base}/api/handoffs?status=bogus", headers=auth(token))
    assert status == 400 and "status" in body["error"]


def test_watch_urls_are_read_and_nonsense_is_refused():
    from console.settings import watched_urls

    assert watched_urls("rasa=http://127.0.0.1:5005/, actions=http://127.0.0.1:5055/health") == (
        ("rasa", "http://127.0.0.1:5005/"), ("actions", "http://127.0.0.1:5055/health"))
    assert watched_urls("") == ()
    with pytest.raises(SystemExit, match="CONSOLE_WATCH_URLS"):
        watched_urls("rasa:5005")
