"""Finding 6 (issue 14): transcripts could be read without an audit entry. The console's
`/handoffs/{id}/transcript.json` (the feed the handoff page polls) returned the whole conversation
and wrote nothing, so a curious insider could fetch it for every handoff id, never opening a
page, and leave no trace; the API had no transcript, and its reads were not audited either.

The attack: a signed-in advocate reads transcript.json of handoffs whose page they never opened;
an integration reads `GET /api/handoffs/{id}/transcript`.

What must happen: every such read leaves an audit entry ("Opened the conversation") naming who
read which handoff (the advocate's name; "token:NAME" for a token) that the audit page shows,
with no words of the conversation in it. The console notes a conversation an advocate keeps
open once per half hour (its page polls); the API notes every read.
"""
from __future__ import annotations

import uuid

import pytest

from console.tokens import create_token
from tests.console.test_console_pages import audit_rows, new_handoff
from tests.helpers import Browser, console_with_advocates, http

WORDS = "he took my phone, I am at the library"


@pytest.fixture(scope="module")
def console(tmp_path_factory, rasa):
    process = console_with_advocates(tmp_path_factory.mktemp("finding-06"), rasa, ("curious", "supervisor"),
                                     HANDOFF_UNCLAIMED_MINUTES="600")
    yield process
    process.stop()


def conversation_with_words(console, rasa) -> int:
    handoff_id, conversation = new_handoff(console, conversation=f"sms-{uuid.uuid4().hex[:8]}")
    rasa.trackers[conversation] = {"sender_id": conversation,
                                   "events": [{"event": "user", "text": WORDS, "timestamp": 1_700_000_000}]}
    return handoff_id


def views(console, handoff_id: int) -> list[str]:
    return [who for who, action, _ in audit_rows(console, handoff_id) if action == "viewed"]


def test_reading_transcripts_only_through_the_json_feed_leaves_an_entry_for_each(console, rasa):
    handoffs = [conversation_with_words(console, rasa) for _ in range(3)]
    insider = Browser(console.base)
    assert insider.sign_in("curious")[0] == 303
    for handoff_id in handoffs:
        status, transcript = insider.json(f"/handoffs/{handoff_id}/transcript.json")
        assert status == 200 and WORDS in [line["text"] for line in transcript["lines"]]  # the words were read
        assert views(console, handoff_id) == ["curious"]

    supervisor = Browser(console.base)
    assert supervisor.sign_in("supervisor")[0] == 303
    status, page = supervisor.get("/audit")
    assert status == 200 and page.count("curious") >= 3 and WORDS not in page
    for handoff_id in handoffs:
        assert f"#{handoff_id}" in page


def test_opening_the_handoff_page_leaves_an_entry_and_its_polling_no_more(console, rasa):
    handoff_id = conversation_with_words(console, rasa)
    supervisor = Browser(console.base)
    assert supervisor.sign_in("supervisor")[0] == 303
    status, page = supervisor.get(f"/handoffs/{handoff_id}")
    assert status == 200 and "the library" in page
    for _ in range(3):  # the page polls its transcript
        assert supervisor.json(f"/handoffs/{handoff_id}/transcript.json")[0] == 200
    assert views(console, handoff_id) == ["supervisor"]


def test_every_transcript_read_through_the_api_is_audited_under_the_token_name(console, rasa):
    handoff_id = conversation_with_words(console, rasa)
    with console.session() as session:
        reader = create_token(session, "case-notes", scope="read")
    for _ in range(2):
        status, messages = http("GET", f"{console.base}/api/handoffs/{handoff_id}/transcript",
                                headers={"Authorization": f"Bearer {reader}"})
        assert status == 200 and messages[0]["text"] == WORDS
    assert views(console, handoff_id) == ["token:case-notes", "token:case-notes"]
    assert all(WORDS not in " ".join(filter(None, row)) for row in audit_rows(console))
