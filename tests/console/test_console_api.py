"""The console process: readiness, and the JSON API for integrations behind bearer tokens
(CONTRACT.md): the queue, a handoff, its transcript, and claim / reply / release / close as the
console's own steps, against the stand-in for Rasa that records each call (the last test: the
whole navigator, with a real Rasa)."""
import datetime as dt
import urllib.error
import urllib.request
import uuid

import pytest

from console.tokens import create_token
from conversations.handoffs import claim_handoff, open_handoff
from navigator.setup import model_path
from tests.console.test_console_pages import EVENTS, audit_rows, call, handoff_row, new_handoff, told
from tests.helpers import Stack, http, wait_until


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


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/handoffs?status=open"), ("GET", "/api/handoffs"), ("GET", "/api/handoffs?status=bogus"),
    ("GET", "/api/handoffs/1"), ("GET", "/api/handoffs/99999"), ("GET", "/api/handoffs/1/transcript"),
    ("POST", "/api/handoffs/1/claim"), ("POST", "/api/handoffs/1/reply"), ("POST", "/api/handoffs/99999/release"),
    ("POST", "/api/handoffs/1/close")])
@pytest.mark.parametrize("header", [None, "Bearer nav_wrong", "Basic abc", "Bearer "])
def test_without_a_valid_token_the_answer_is_401_and_nothing_else(api, rasa, method, path, header):
    base, _, _ = api
    rasa.take_calls()
    status, body = http(method, base + path, {"text": "hello"} if method == "POST" else None,
                        headers={"Authorization": header} if header else {})
    assert status == 401 and body == {"error": "unauthorized"}
    assert rasa.take_calls() == []


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


# --- acting through the API, as the console's advocates do ------------------------------------

def new_token(console, scope="act") -> tuple[str, str]:
    """(the token, its actor in the audit log and the queue)."""
    name = f"crm-{uuid.uuid4().hex[:6]}"
    with console.session() as session:
        return create_token(session, name, scope), f"token:{name}"


def survivor_said(rasa, conversation, *texts):
    rasa.trackers[conversation] = {"sender_id": conversation, "events": [
        {"event": "user", "text": text, "timestamp": 1_700_000_000 + number} for number, text in enumerate(texts)]}


def test_an_integration_claims_replies_releases_and_closes_as_an_advocate_would(console, rasa):
    token, actor = new_token(console)
    handoff_id, conversation = new_handoff(console)
    survivor_said(rasa, conversation, "he is outside the door")
    base, headers = f"{console.base}/api/handoffs/{handoff_id}", auth(token)
    rasa.take_calls()

    status, row = http("POST", f"{base}/claim", headers=headers)
    assert status == 200 and (row["status"], row["claimed_by"]) == ("claimed", actor)
    # The bot is paused, and the survivor is told a person joined (a token has no display name).
    assert rasa.take_calls() == [call(EVENTS, conversation, {"event": "pause"}),
                                 *told(conversation, "utter_advocate_joined_unnamed")]

    status, messages = http("GET", f"{base}/transcript", headers=headers)
    assert status == 200 and messages == [
        {"from": "survivor", "text": "he is outside the door", "at": "2023-11-14T22:13:20+00:00"}]

    status, row = http("POST", f"{base}/reply", {"text": "I'm here. Are you somewhere safe?"}, headers=headers)
    assert status == 200 and row["status"] == "claimed"
    assert rasa.take_calls() == [call(EVENTS, conversation, {"event": "bot", "text": "I'm here. Are you somewhere safe?",
                                                            "metadata": {"advocate": actor}},
                                      output_channel="latest", execute_side_effects="true")]

    status, row = http("POST", f"{base}/release", headers=headers)
    assert status == 200 and row["status"] == "handed_back"
    assert rasa.take_calls() == [
        call(EVENTS, conversation, [{"event": "resume"}, {"event": "slot", "name": "awaiting", "value": None}]),
        *told(conversation, "utter_handback")]

    status, row = http("POST", f"{base}/close", {"outcome": "safety_plan"}, headers=headers)
    assert status == 200 and (row["status"], row["outcome"], row["closed_by"]) == ("closed", "safety_plan", actor)
    assert [(a, action) for a, action, _ in audit_rows(console, handoff_id)] == [
        (actor, "claimed"), (actor, "viewed"), (actor, "replied"), (actor, "handed_back"), (actor, "closed")]


def test_closing_a_handoff_the_token_holds_hands_it_back_first_and_needs_no_body(console, rasa):
    token, actor = new_token(console)
    handoff_id, conversation = new_handoff(console)
    base = f"{console.base}/api/handoffs/{handoff_id}"
    assert http("POST", f"{base}/claim", headers=auth(token))[0] == 200
    rasa.take_calls()
    status, row = http("POST", f"{base}/close", headers=auth(token))
    assert status == 200 and (row["status"], row["outcome"]) == ("closed", "other")
    assert call(EVENTS, conversation, [{"event": "resume"}, {"event": "slot", "name": "awaiting", "value": None}]) \
        in rasa.take_calls()  # no conversation stays paused


def test_a_claim_retried_by_the_token_that_holds_it_is_a_success_and_does_nothing_twice(console, rasa):
    token, actor = new_token(console)
    handoff_id, _ = new_handoff(console)
    base = f"{console.base}/api/handoffs/{handoff_id}"
    assert http("POST", f"{base}/claim", headers=auth(token))[0] == 200
    rasa.take_calls()
    status, row = http("POST", f"{base}/claim", headers=auth(token))  # its answer was lost: tried again
    assert status == 200 and (row["status"], row["claimed_by"]) == ("claimed", actor)
    assert rasa.take_calls() == []  # not paused again, the survivor not told twice
    assert [action for _a, action, _d in audit_rows(console, handoff_id)].count("claimed") == 1


def test_a_step_the_handoff_does_not_allow_is_a_clear_409_and_changes_nothing(console, rasa):
    token, actor = new_token(console)
    handoff_id, _ = new_handoff(console)
    base = f"{console.base}/api/handoffs/{handoff_id}"
    rasa.take_calls()
    status, body = http("POST", f"{base}/reply", {"text": "hello"}, headers=auth(token))
    assert status == 409 and "must be claimed before you reply to it" in body["error"]
    assert http("POST", f"{base}/release", headers=auth(token))[0] == 409
    with console.session() as session:
        claim_handoff(session, handoff_id, "maria")  # an advocate took it in the console
    status, body = http("POST", f"{base}/claim", headers=auth(token))
    assert status == 409 and "held by maria" in body["error"]
    status, body = http("POST", f"{base}/close", headers=auth(token))
    assert status == 409 and "held by maria" in body["error"]
    assert rasa.take_calls() == []
    row = handoff_row(console, handoff_id)
    assert (row.status, row.claimed_by) == ("claimed", "maria")
    assert [(a, action, detail) for a, action, detail in audit_rows(console, handoff_id)] == \
        [(actor, "api_refused", "wrong_state")] * 4


@pytest.mark.parametrize("body, complaint", [
    ({"text": "   "}, "Write a message first"), ({"text": "x" * 1001}, "at most 1000 characters"),
    ({"words": "hello"}, '{"text"'), ({"text": 5}, '{"text"'), (["hello"], "JSON object"), ("hello", "JSON object")])
def test_a_reply_the_api_cannot_send_is_a_clear_400_and_sends_nothing(console, rasa, body, complaint):
    token, actor = new_token(console)
    handoff_id, _ = new_handoff(console)
    base = f"{console.base}/api/handoffs/{handoff_id}"
    assert http("POST", f"{base}/claim", headers=auth(token))[0] == 200
    rasa.take_calls()
    status, answer = http("POST", f"{base}/reply", body, headers=auth(token))
    assert status == 400 and complaint in answer["error"]
    assert rasa.take_calls() == []
    assert audit_rows(console, handoff_id)[-1] == (actor, "api_refused", "bad_request")


def test_unreadable_json_an_unknown_outcome_or_handoff_are_refused(console, rasa):
    token, actor = new_token(console)
    handoff_id, _ = new_handoff(console)
    status, body = http("POST", f"{console.base}/api/handoffs/{handoff_id}/close", {"outcome": "fine"},
                        headers=auth(token))
    assert status == 400 and "connected" in body["error"] and handoff_row(console, handoff_id).status == "open"
    request = urllib.request.Request(f"{console.base}/api/handoffs/{handoff_id}/reply", data=b"{not json",
                                     method="POST", headers=auth(token))
    try:
        urllib.request.urlopen(request, timeout=10)
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == 400
    for step in ("claim", "reply", "release", "close"):
        assert http("POST", f"{console.base}/api/handoffs/99999/{step}", {"text": "hi"},
                    headers=auth(token)) == (404, {"error": "not found"})
    assert http("GET", f"{console.base}/api/handoffs/99999/transcript", headers=auth(token)) == \
        (404, {"error": "not found"})
    assert rasa.take_calls() == []


def test_when_rasa_does_not_answer_a_claim_is_undone_and_the_api_says_so(console, rasa):
    token, actor = new_token(console)
    handoff_id, _ = new_handoff(console)
    rasa.failing = True
    try:
        status, body = http("POST", f"{console.base}/api/handoffs/{handoff_id}/claim", headers=auth(token))
        assert status == 502 and "nothing was done" in body["error"]
        assert http("GET", f"{console.base}/api/handoffs/{handoff_id}/transcript", headers=auth(token))[0] == 502
    finally:
        rasa.failing = False
    assert handoff_row(console, handoff_id).status == "open"  # the bot keeps answering


def test_the_transcript_has_survivor_bot_and_advocate_messages_oldest_first(console, rasa):
    token, _ = new_token(console, scope="read")
    handoff_id, conversation = new_handoff(console)
    rasa.trackers[conversation] = {"sender_id": conversation, "events": [
        {"event": "action", "name": "action_listen", "timestamp": 1},
        {"event": "user", "text": "i need help", "timestamp": 2, "metadata": {"secret": "x"}},
        {"event": "bot", "text": "Call 911 if you are in danger.", "timestamp": 3,
         "data": {"buttons": [{"title": "Talk to a person", "payload": "/ask"}]}},
        {"event": "pause", "timestamp": 4},
        {"event": "bot", "text": "I'm Jun.", "timestamp": 5, "metadata": {"advocate": "jun"}},
        {"event": "resume", "timestamp": 6}]}
    status, messages = http("GET", f"{console.base}/api/handoffs/{handoff_id}/transcript", headers=auth(token))
    assert status == 200
    assert [(m["from"], m["text"]) for m in messages] == [
        ("survivor", "i need help"), ("bot", "Call 911 if you are in danger."), ("advocate", "I'm Jun.")]
    assert [dt.datetime.fromisoformat(m["at"]).timestamp() for m in messages] == [2, 3, 5]
    assert messages[2]["advocate"] == "jun" and "secret" not in str(messages)


# --- the whole navigator: the same steps with a real Rasa ---------------------------------------

@pytest.fixture(scope="module")
def navigator_stack(tmp_path_factory):
    if not model_path().exists():
        pytest.fail("no trained model: run `make setup` first")
    stack = Stack(tmp_path_factory.mktemp("api-stack"), env={"HANDOFF_UNCLAIMED_MINUTES": "600"})
    stack.start()
    created = stack.cli("tokens", "create", "api-e2e")
    assert created.returncode == 0, created.stderr
    stack.token = created.stdout.strip().splitlines()[-1]
    yield stack
    stack.stop()


@pytest.mark.e2e
def test_an_integration_takes_an_emergency_through_the_api_with_the_real_assistant(navigator_stack):
    stack = navigator_stack
    conversation = f"api-e2e-{uuid.uuid4().hex[:8]}"
    assert "911" in stack.say(conversation, "he has a gun and he's here")
    assert wait_until(lambda: [h for h in stack.handoffs() if h["conversation_id"] == conversation], 2, interval=0.2)
    number = [h for h in stack.handoffs() if h["conversation_id"] == conversation][0]["id"]
    base, headers = f"{stack.console}/api/handoffs/{number}", auth(stack.token)

    assert http("POST", f"{base}/claim", headers=headers)[0] == 200
    assert stack.say(conversation, "are you there") == ""  # paused: only the advocate answers
    status, messages = http("GET", f"{base}/transcript", headers=headers)
    assert status == 200 and {"from": "survivor", "text": "are you there"}.items() <= messages[-1].items()
    assert ("survivor", "he has a gun and he's here") in [(m["from"], m["text"]) for m in messages]
    assert any(m["from"] == "bot" and "911" in m["text"] for m in messages)

    assert http("POST", f"{base}/reply", {"text": "I'm an advocate. I'm here with you."}, headers=headers)[0] == 200
    status, messages = http("GET", f"{base}/transcript", headers=headers)
    assert ("advocate", "I'm an advocate. I'm here with you.") == (messages[-1]["from"], messages[-1]["text"])

    status, row = http("POST", f"{base}/release", headers=headers)
    assert status == 200 and row["status"] == "handed_back"
    status, messages = http("GET", f"{base}/transcript", headers=headers)
    assert "back with the automated helper" in messages[-1]["text"]  # the survivor was told
    answer = stack.say(conversation, "I need legal help in Omaha, NE")
    assert answer and "Omaha" in answer  # the bot answers again

    status, row = http("POST", f"{base}/close", {"outcome": "connected"}, headers=headers)
    assert status == 200 and (row["status"], row["outcome"], row["closed_by"]) == ("closed", "connected", "token:api-e2e")
