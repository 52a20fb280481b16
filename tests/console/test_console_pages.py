"""The advocates' console through HTTP, as a browser uses it: sign-in, CSRF, lock-out, the queue,
and claim / transcript / reply / hand back / close against a stand-in for Rasa's HTTP API that
records each call, so the tests assert exactly what Rasa was asked to do."""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import uuid

from sqlalchemy import select, update

from console.accounts import LoginFailure, disable_advocate, enable_advocate
from console.audit import AuditEntry
from console.sessions import AdvocateSession
from conversations.handoffs import Handoff, open_handoff
from tests.helpers import PASSWORD, Browser

EVENTS = "tracker/events"


def new_handoff(console, priority="emergency", reason="danger", channel="rest", conversation=None,
                minutes_ago: float = 0) -> tuple[int, str]:
    conversation = conversation or f"conv-{uuid.uuid4().hex[:8]}"
    with console.session() as session:
        handoff = open_handoff(session, conversation, channel, priority, reason)
        if minutes_ago:
            handoff.created_at = handoff.created_at - dt.timedelta(minutes=minutes_ago)
        return handoff.id, conversation


def handoff_row(console, handoff_id) -> Handoff:
    with console.session() as session:
        return session.get(Handoff, handoff_id)


def audit_rows(console, handoff_id=None) -> list[tuple[str, str, str]]:
    with console.session() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if handoff_id is not None:
            query = query.where(AuditEntry.handoff_id == handoff_id)
        return [(e.actor, e.action, e.detail) for e in session.execute(query).scalars()]


def call(path_tail, conversation, body, **query):
    return ("POST", f"/conversations/{conversation}/{path_tail}", dict(query), body)


def told(conversation, response, **slots):
    """The calls that say one of domain.yml's responses to the survivor (console.rasa_api.utter)."""
    calls = [call(EVENTS, conversation, [{"event": "slot", "name": n, "value": v} for n, v in slots.items()])] \
        if slots else []
    return calls + [call("execute", conversation, {"name": response}, output_channel="latest"),
                    call(EVENTS, conversation, {"event": "action", "name": "action_listen"})]


# --- signing in ---------------------------------------------------------------------------

def test_pages_need_a_signed_in_advocate(browser):
    status, _ = browser.get("/")
    assert status == 303 and browser.headers["Location"].startswith("/login")
    assert browser.json("/queue.json") == (401, {"error": "signed out"})


def test_the_right_password_signs_in_with_a_strict_httponly_session_cookie(browser, console):
    status, _ = browser.sign_in("Maria", next_path="/audit")  # names are case-insensitive
    assert status == 303 and browser.headers["Location"] == "/audit"
    (cookie,) = [c for c in browser.set_cookies if c.startswith("nav_session=")]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; Secure comes with HTTPS (auto)
    status, page = browser.get("/")
    assert status == 200 and "Signed in as <strong>maria</strong>" in page
    assert ("maria", "signed_in", None) in audit_rows(console)


def test_a_wrong_password_does_not_sign_in(browser, console):
    status, page = browser.sign_in("maria", "wrong password!")
    assert status == 401 and "do not match" in page
    assert not any(c.startswith("nav_session=") and "Max-Age=0" not in c for c in browser.set_cookies)
    assert browser.get("/")[0] == 303
    assert ("maria", "sign_in_refused", "wrong_password") in audit_rows(console)


def test_sign_in_only_goes_on_to_a_page_of_the_console(browser):
    browser.sign_in("maria", next_path="//evil.example/")
    assert browser.headers["Location"] == "/"


def test_a_sign_in_without_its_csrf_token_is_refused(browser):
    browser.get("/login")
    status, page = browser.post("/login", {"name": "maria", "password": PASSWORD}, csrf=False)
    assert status == 403 and "out of date" in page
    assert browser.get("/")[0] == 303


def test_a_sign_in_whose_token_is_not_its_cookie_is_refused(browser, console):
    other = Browser(console.base)
    other.get("/login")
    browser.get("/login")
    status, _ = browser.post("/login", {"name": "maria", "password": PASSWORD, "csrf_token": other.csrf})
    assert status == 403


def test_a_name_is_locked_for_the_address_that_failed_it_then_unlocked_when_the_time_is_up(browser, console):
    """All of this console's browsers share one address (loopback): other addresses are
    tests/security/test_finding_05_lockout.py's."""
    for _ in range(3):  # CONSOLE_LOCKOUT_ATTEMPTS=3 in this console: failures of one name from one address
        status, page = browser.sign_in("jun", "not the password")
    assert status == 429 and "Too many tries" in page
    status, page = browser.sign_in("jun")  # the right password changes nothing while locked
    assert status == 429 and "Too many tries" in page
    assert Browser(console.base).sign_in("maria")[0] == 303  # other names from this address are not locked
    with console.session() as session:  # the lock-out window passes
        session.execute(update(LoginFailure).values(at=LoginFailure.at - dt.timedelta(minutes=16)))
    assert browser.sign_in("jun")[0] == 303
    assert ("jun", "sign_in_refused", "locked") in audit_rows(console)


def test_an_address_is_locked_after_failures_on_many_names(browser, console):
    for number in range(6):  # CONSOLE_LOCKOUT_ADDRESS_ATTEMPTS=6, each name below its own limit
        status, _ = browser.sign_in(f"nobody{number}", "guess")
    assert status == 429
    assert browser.sign_in("maria")[0] == 429


def test_sign_out_ends_the_session_on_the_server(maria, console):
    session_cookie = next(c for c in maria.jar if c.name == "nav_session")
    cookie = session_cookie.value
    status, _ = maria.post("/logout")
    assert status == 303 and maria.headers["Location"] == "/login"
    with console.session() as session:
        hashes = session.execute(select(AdvocateSession.token_hash)).scalars().all()
    assert hashlib.sha256(cookie.encode()).hexdigest() not in hashes and cookie not in hashes
    replay = Browser(console.base)  # the old cookie, replayed, is worth nothing
    replay.jar.set_cookie(session_cookie)
    assert replay.get("/")[0] == 303
    assert ("maria", "signed_out", None) in audit_rows(console)


def test_a_disabled_advocate_is_signed_out_at_once(console):
    browser = Browser(console.base)
    browser.sign_in("jun")
    assert browser.get("/")[0] == 200
    with console.session() as session:
        disable_advocate(session, "jun")
    try:
        assert browser.get("/")[0] == 303
        assert Browser(console.base).sign_in("jun")[0] == 401
    finally:
        with console.session() as session:
            enable_advocate(session, "jun")


# --- CSRF and headers ----------------------------------------------------------------------

def test_a_post_without_the_csrf_token_does_nothing(maria, console, rasa):
    handoff_id, _ = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    status, page = maria.post(f"/handoffs/{handoff_id}/claim", csrf=False)
    assert status == 403 and "out of date" in page
    status, _ = maria.post(f"/handoffs/{handoff_id}/claim", {"csrf_token": "forged"})
    assert status == 403
    assert rasa.take_calls() == [] and handoff_row(console, handoff_id).status == "open"


def test_a_post_another_site_made_is_refused_even_with_the_token(maria, console, rasa):
    handoff_id, _ = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    status, _ = maria.post(f"/handoffs/{handoff_id}/claim", headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 403 and rasa.take_calls() == []


def test_a_refused_reply_keeps_what_the_advocate_wrote(maria, console, rasa):
    handoff_id, _ = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    maria.post(f"/handoffs/{handoff_id}/claim")
    rasa.take_calls()
    status, page = maria.post(f"/handoffs/{handoff_id}/reply", {"text": "I am here with you.", "csrf_token": "old"})
    assert status == 403 and ">I am here with you.</textarea>" in page and rasa.take_calls() == []


def test_every_answer_carries_the_security_headers(maria):
    for path in ("/", "/login", "/queue.json", "/static/console.js", "/healthz"):
        maria.get(path)
        csp = maria.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert maria.headers["Cache-Control"] == "no-store" and maria.headers["X-Frame-Options"] == "DENY"


# --- the queue -----------------------------------------------------------------------------

def test_the_queue_orders_by_priority_then_age_and_never_shows_a_phone_number(maria, console):
    old_request, _ = new_handoff(console, "request", "request", minutes_ago=30)
    new_emergency, phone = new_handoff(console, "emergency", "self_harm", "twilio", conversation="+15550100999",
                                       minutes_ago=1)
    old_emergency, _ = new_handoff(console, "emergency", "danger", minutes_ago=10)
    status, queue = maria.json("/queue.json")
    assert status == 200
    ids = [row["id"] for row in queue["waiting"]]
    mine = [i for i in ids if i in (old_request, new_emergency, old_emergency)]
    assert mine == [old_emergency, new_emergency, old_request]
    emergencies = [r for r in queue["waiting"] if r["priority"] == "emergency"]
    assert ids.index(emergencies[-1]["id"]) < min(ids.index(r["id"]) for r in queue["waiting"]
                                                  if r["priority"] == "request")
    row = next(r for r in queue["waiting"] if r["id"] == new_emergency)
    assert (row["reason"], row["channel"], row["age"], row["status"]) == ("Self-harm or suicide", "SMS", "1 min", "open")
    status, page = maria.get("/")
    assert status == 200 and f"#{new_emergency} · {row['handle']}" in page and "Self-harm or suicide" in page
    assert page.index(f">#{old_emergency} ") < page.index(f">#{new_emergency} ") < page.index(f">#{old_request} ")
    for shown in (page, str(queue), maria.get(f"/handoffs/{new_emergency}")[1]):
        assert "5550100999" not in shown and phone not in shown


def test_the_queue_and_the_handoff_say_the_survivor_writes_in_spanish(maria, console):
    """An advocate sees, before opening it, that the person wrote in Spanish; English, the
    console's own language, and a language nobody could tell say nothing."""
    spanish, _ = new_handoff(console, "emergency", "danger")
    english, _ = new_handoff(console, "emergency", "danger")
    with console.session() as session:
        session.get(Handoff, spanish).language = "es"
        session.get(Handoff, english).language = "en"
    status, queue = maria.json("/queue.json")
    rows = {row["id"]: row for row in queue["waiting"]}
    assert (rows[spanish]["language"], rows[english]["language"]) == ("Spanish", "")
    page = maria.get("/")[1]
    assert f"{rows[spanish]['channel']} · Spanish" in page
    status, handoff_page = maria.get(f"/handoffs/{spanish}")
    assert status == 200 and "Writes in</dt><dd>Spanish" in handoff_page
    assert "Writes in" not in maria.get(f"/handoffs/{english}")[1]


# --- claim, transcript, reply, hand back, close ----------------------------------------------

def test_claim_records_who_pauses_the_bot_and_nobody_else_can_take_it(maria, console, rasa):
    handoff_id, conversation = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    status, _ = maria.post(f"/handoffs/{handoff_id}/claim")
    assert status == 303 and maria.headers["Location"] == f"/handoffs/{handoff_id}?done=claimed#reply"
    assert rasa.take_calls() == [call(EVENTS, conversation, {"event": "pause"}),
                                 *told(conversation, "utter_advocate_joined_unnamed")]  # a person joined
    row = handoff_row(console, handoff_id)
    assert (row.status, row.claimed_by) == ("claimed", "maria") and row.claimed_at is not None
    assert ("maria", "claimed", None) in audit_rows(console, handoff_id)

    jun = Browser(console.base)
    jun.sign_in("jun")
    jun.get(f"/handoffs/{handoff_id}")
    status, page = jun.post(f"/handoffs/{handoff_id}/claim")
    assert status == 409 and "held by maria" in html.unescape(page)
    status, page = jun.post(f"/handoffs/{handoff_id}/reply", {"text": "hello"})
    assert status == 409 and rasa.take_calls() == []


def test_a_claim_rasa_cannot_take_is_undone(maria, console, rasa):
    handoff_id, _ = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    rasa.failing = True
    try:
        status, page = maria.post(f"/handoffs/{handoff_id}/claim")
    finally:
        rasa.failing = False
    assert status == 502 and "could not be reached" in page
    assert handoff_row(console, handoff_id).status == "open"
    assert ("maria", "claimed", None) not in audit_rows(console, handoff_id)


def test_the_transcript_shows_survivor_bot_and_advocate_messages_also_those_sent_while_paused(maria, console, rasa):
    handoff_id, conversation = new_handoff(console)
    rasa.trackers[conversation] = {"sender_id": conversation, "events": [
        {"event": "action", "name": "action_listen", "timestamp": 1700000000},
        {"event": "user", "text": "he has a gun <b>now</b>", "timestamp": 1700000001, "metadata": {"from": "+1555"}},
        {"event": "bot", "text": "If you are in danger now, call 911.", "timestamp": 1700000002,
         "data": {"buttons": [{"title": "Talk to a person", "payload": "/x"}]}},
        {"event": "pause", "timestamp": 1700000060},
        {"event": "user", "text": "are you there", "timestamp": 1700000120},
        {"event": "bot", "text": "I'm here. You are not alone.", "timestamp": 1700000180,
         "metadata": {"advocate": "maria"}},
        {"event": "slot", "name": "awaiting", "value": "advocate", "timestamp": 1700000181},
    ]}
    status, page = maria.get(f"/handoffs/{handoff_id}")
    assert status == 200
    texts = ["he has a gun &lt;b&gt;now&lt;/b&gt;", "If you are in danger now, call 911.", "Bot paused",
             "are you there", "I&#39;m here. You are not alone."]
    positions = [page.index(t) for t in texts]
    assert positions == sorted(positions)
    assert "maria (advocate)" in page and "Buttons: Talk to a person" in page and "+1555" not in page
    assert re.search(r"2023-11-14 22:13 UTC", page)
    status, data = maria.json(f"/handoffs/{handoff_id}/transcript.json")
    assert [(line["who"], line["text"]) for line in data["lines"]] == [
        ("survivor", "he has a gun <b>now</b>"), ("bot", "If you are in danger now, call 911."), ("paused", ""),
        ("survivor", "are you there"), ("advocate", "I'm here. You are not alone.")]
    assert ("maria", "viewed", None) in audit_rows(console, handoff_id)
    maria.get(f"/handoffs/{handoff_id}")  # a reload is not a new view
    assert audit_rows(console, handoff_id).count(("maria", "viewed", None)) == 1


def test_a_reply_goes_into_the_conversation_on_the_survivors_channel(maria, console, rasa):
    handoff_id, conversation = new_handoff(console, channel="twilio")
    maria.get(f"/handoffs/{handoff_id}")
    maria.post(f"/handoffs/{handoff_id}/claim")
    rasa.take_calls()
    words = "I'm Maria, an advocate. Are you safe to text right now? codeword-7f3a"
    status, _ = maria.post(f"/handoffs/{handoff_id}/reply", {"text": words})
    assert status == 303
    assert rasa.take_calls() == [call(EVENTS, conversation, {"event": "bot", "text": words, "metadata": {"advocate": "maria"}},
                                      output_channel="latest", execute_side_effects="true")]
    assert ("maria", "replied", None) in audit_rows(console, handoff_id)
    with console.session() as session:  # the words are in Rasa's tracker only, never in the audit log
        dumped = " ".join(str(v) for e in session.execute(select(AuditEntry)).scalars() for v in vars(e).values())
    assert "codeword" not in dumped
    assert "codeword" not in console.log.read_text(errors="replace")


def test_an_empty_or_failed_reply_is_a_clear_error_and_keeps_the_draft(maria, console, rasa):
    handoff_id, _ = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    maria.post(f"/handoffs/{handoff_id}/claim")
    rasa.take_calls()
    status, page = maria.post(f"/handoffs/{handoff_id}/reply", {"text": "   "})
    assert status == 400 and "Write a message first" in page and rasa.take_calls() == []
    status, page = maria.post(f"/handoffs/{handoff_id}/reply", {"text": "x" * 1001})
    assert status == 400 and "at most 1000" in page and "x" * 1001 in page
    rasa.failing = True
    try:
        status, page = maria.post(f"/handoffs/{handoff_id}/reply", {"text": "Call me back at the shelter."})
    finally:
        rasa.failing = False
    assert status == 502 and ">Call me back at the shelter.</textarea>" in page
    assert ("maria", "replied", None) not in audit_rows(console, handoff_id)


def test_hand_back_resumes_the_bot_which_says_so_then_close_records_the_outcome(maria, console, rasa):
    handoff_id, conversation = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    maria.post(f"/handoffs/{handoff_id}/claim")
    rasa.take_calls()
    status, _ = maria.post(f"/handoffs/{handoff_id}/handback")
    assert status == 303
    assert rasa.take_calls() == [
        call(EVENTS, conversation, [{"event": "resume"}, {"event": "slot", "name": "awaiting", "value": None}]),
        call("execute", conversation, {"name": "utter_handback"}, output_channel="latest"),
        call(EVENTS, conversation, {"event": "action", "name": "action_listen"}),
    ]
    assert handoff_row(console, handoff_id).status == "handed_back"
    status, page = maria.post(f"/handoffs/{handoff_id}/close", {"outcome": "sometimes"})
    assert status == 400 and "Pick how it ended" in page
    status, _ = maria.post(f"/handoffs/{handoff_id}/close", {"outcome": "safety_plan"})
    assert status == 303 and rasa.take_calls() == []
    row = handoff_row(console, handoff_id)
    assert (row.status, row.outcome, row.closed_by) == ("closed", "safety_plan", "maria")
    assert [a for _, a, _ in audit_rows(console, handoff_id)] == ["viewed", "claimed", "handed_back", "closed"]
    assert ("maria", "closed", "safety_plan") in audit_rows(console, handoff_id)
    status, page = maria.post(f"/handoffs/{handoff_id}/close", {"outcome": "other"})
    assert status == 409 and "already closed" in page


def test_closing_a_held_handoff_hands_it_back_first(maria, console, rasa):
    handoff_id, conversation = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    maria.post(f"/handoffs/{handoff_id}/claim")
    rasa.take_calls()
    assert maria.post(f"/handoffs/{handoff_id}/close", {"outcome": "no_response"})[0] == 303
    assert [c[1].rsplit("/", 1)[-1] for c in rasa.take_calls()] == ["events", "execute", "events"]
    assert handoff_row(console, handoff_id).status == "closed"
    assert [a for _, a, _ in audit_rows(console, handoff_id)] == ["viewed", "claimed", "handed_back", "closed"]


def test_a_handoff_nobody_needs_can_be_closed_without_touching_the_conversation(maria, console, rasa):
    handoff_id, _ = new_handoff(console, "request", "request")
    maria.get(f"/handoffs/{handoff_id}")
    assert maria.post(f"/handoffs/{handoff_id}/close", {"outcome": "declined"})[0] == 303
    assert rasa.take_calls() == [] and handoff_row(console, handoff_id).outcome == "declined"
    status, page = maria.get("/?view=closed")
    assert f"#{handoff_id} ·" in page and "Did not want an advocate" in page


def test_the_audit_page_shows_who_did_what(maria, console):
    handoff_id, _ = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    maria.post(f"/handoffs/{handoff_id}/claim")
    status, page = maria.get("/audit")
    assert status == 200
    assert re.search(rf"<td data-label=\"Who\">maria</td>\s*<td data-label=\"What\">Claimed</td>\s*"
                     rf"<td data-label=\"Handoff\"><a href=\"/handoffs/{handoff_id}\">", page)
    assert "Opened the conversation" in page and "Signed in" in page


def test_an_unknown_handoff_is_a_clear_404(maria):
    status, page = maria.get("/handoffs/987654")
    assert status == 404 and "no handoff 987654" in page


def test_another_advocate_can_take_over_a_claimed_handoff_and_the_first_can_no_longer_reply(maria, console, rasa):
    handoff_id, conversation = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    assert maria.post(f"/handoffs/{handoff_id}/claim")[0] == 303
    rasa.take_calls()

    jun = Browser(console.base)
    jun.sign_in("jun")
    status, page = jun.get(f"/handoffs/{handoff_id}")
    assert status == 200 and "Take over from maria" in page
    status, _ = jun.post(f"/handoffs/{handoff_id}/takeover")
    assert status == 303 and jun.headers["Location"] == f"/handoffs/{handoff_id}?done=taken_over#reply"
    row = handoff_row(console, handoff_id)
    assert (row.status, row.claimed_by) == ("claimed", "jun")
    # Still paused; the survivor is told another advocate is there.
    assert rasa.take_calls() == told(conversation, "utter_advocate_took_over_unnamed")
    assert ("jun", "taken_over", None) in audit_rows(console, handoff_id)

    status, page = maria.post(f"/handoffs/{handoff_id}/reply", {"text": "hello"})
    assert status == 409 and "held by jun" in html.unescape(page)
    assert jun.post(f"/handoffs/{handoff_id}/takeover")[0] == 409  # already theirs


def test_a_handoff_nobody_holds_cannot_be_taken_over(maria, console):
    handoff_id, _ = new_handoff(console)
    maria.get(f"/handoffs/{handoff_id}")
    status, page = maria.post(f"/handoffs/{handoff_id}/takeover")
    assert status == 409 and "must be claimed" in html.unescape(page)
    assert handoff_row(console, handoff_id).status == "open"
