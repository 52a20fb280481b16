"""Survivors know who is reading: a claim tells them a person joined, by the name the advocate
chose (or "an advocate"); a survivor who said "don't text me first" gets nothing unprompted: no
"joined", no advocate's first message, no hand-back words, until they write again."""
from __future__ import annotations

import datetime as dt
import html
import uuid

from conversations.handoffs import Handoff, open_handoff
from tests.console.test_console_pages import EVENTS, call, told
from tests.helpers import Browser


def new_handoff(console, conversation=None):
    conversation = conversation or f"conv-{uuid.uuid4().hex[:8]}"
    with console.session() as session:
        return open_handoff(session, conversation, "twilio", "emergency", "danger").id, conversation


def survivor_wrote(rasa, conversation, at: float, quiet: bool = True) -> None:
    rasa.trackers[conversation] = {
        "sender_id": conversation, "slots": {"contact_first": False} if quiet else {},
        "events": [{"event": "user", "text": "dont text me first", "timestamp": 1_000},
                   *([{"event": "user", "text": "ok i can talk now", "timestamp": at}] if at else [])]}


def test_an_advocate_chooses_how_survivors_see_them_and_a_claim_says_it(console, rasa):
    jun = Browser(console.base)
    jun.sign_in("jun")
    status, page = jun.get("/account")
    assert status == 200 and "Hi, I'm an advocate, a real person" in html.unescape(page)
    status, page = jun.post("/account", {"display_name": "Jun 555 0100"})  # a number is no name
    assert status == 400 and "no digits" in html.unescape(page) and "Jun 555 0100" in page
    assert jun.post("/account", {"display_name": "  Jun  "})[0] == 303
    assert "Hi, I'm Jun, an advocate" in html.unescape(jun.get("/account?saved=1")[1])

    handoff_id, conversation = new_handoff(console)
    jun.get(f"/handoffs/{handoff_id}")
    rasa.take_calls()
    assert jun.post(f"/handoffs/{handoff_id}/claim")[0] == 303
    assert rasa.take_calls() == [call(EVENTS, conversation, {"event": "pause"}),
                                 *told(conversation, "utter_advocate_joined", advocate_name="Jun")]
    with console.session() as session:
        assert session.get(Handoff, handoff_id).joined_notice_at is not None
    assert jun.post("/account", {"display_name": ""})[0] == 303  # back to "an advocate"


def test_a_survivor_who_asked_not_to_be_written_first_gets_nothing_until_they_write(maria, console, rasa):
    handoff_id, conversation = new_handoff(console)
    survivor_wrote(rasa, conversation, at=0)
    maria.get(f"/handoffs/{handoff_id}")
    assert maria.post(f"/handoffs/{handoff_id}/claim")[0] == 303
    assert rasa.take_calls() == [call(EVENTS, conversation, {"event": "pause"})]  # no "an advocate joined"

    status, page = maria.get(f"/handoffs/{handoff_id}")
    assert 'id="not-yet"' in page and "asked not to be written to first" in page
    status, page = maria.post(f"/handoffs/{handoff_id}/reply", {"text": "Hi, are you safe?"})
    assert status == 409 and "once they write again" in html.unescape(page) and "Hi, are you safe?" in page
    assert rasa.take_calls() == []

    # They write to the advocate: now the advocate may answer, and the survivor first hears who it is.
    with console.session() as session:
        claim_time = session.get(Handoff, handoff_id).claimed_at
    survivor_wrote(rasa, conversation, at=claim_time.replace(tzinfo=dt.timezone.utc).timestamp() + 5)
    assert 'id="not-yet"' not in maria.get(f"/handoffs/{handoff_id}")[1]
    assert maria.post(f"/handoffs/{handoff_id}/reply", {"text": "Hi, are you safe?"})[0] == 303
    assert rasa.take_calls() == [
        *told(conversation, "utter_advocate_joined_unnamed"),
        call(EVENTS, conversation, {"event": "bot", "text": "Hi, are you safe?", "metadata": {"advocate": "maria"}},
             output_channel="latest", execute_side_effects="true")]


def test_handing_back_a_quiet_conversation_resumes_the_bot_without_a_word(maria, console, rasa):
    handoff_id, conversation = new_handoff(console)
    survivor_wrote(rasa, conversation, at=0)
    maria.get(f"/handoffs/{handoff_id}")
    maria.post(f"/handoffs/{handoff_id}/claim")
    rasa.take_calls()
    assert maria.post(f"/handoffs/{handoff_id}/handback")[0] == 303
    assert rasa.take_calls() == [
        call(EVENTS, conversation, [{"event": "resume"}, {"event": "slot", "name": "awaiting", "value": None}])]
