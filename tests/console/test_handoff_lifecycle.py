"""The handoff lifecycle and the console's building blocks, below HTTP: states and who may move
them, the lock-out, transcripts from tracker events, the schema upgrade, the pages' markup."""
import datetime as dt
import re

import pytest
from sqlalchemy import inspect, text

from console.accounts import LockoutPolicy, LoginFailure, add_advocate, sign_in
from console.render import STATIC, TEMPLATES
from console.transcript import transcript_lines
from conversations.handoffs import (
    HandoffStateError,
    claim_handoff,
    close_handoff,
    conversation_handle,
    held_by,
    list_handoffs,
    mark_handed_back,
    open_handoff,
    reserve_unclaimed_notice,
    unclaimed_since,
    utcnow,
)
from infra import db
from navigator import schema


@pytest.fixture
def engine(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/navigator.db")
    schema.create_schema(engine)
    return engine


def test_the_lifecycle_and_who_may_take_each_step(engine):
    with db.session_scope(engine) as s:
        handoff_id = open_handoff(s, "c1", "rest", "emergency", "danger").id
        with pytest.raises(HandoffStateError, match="claimed before"):
            held_by(s, handoff_id, "maria", "reply to")
        claim_handoff(s, handoff_id, "maria")
        with pytest.raises(HandoffStateError, match="held by maria"):
            claim_handoff(s, handoff_id, "jun")
        with pytest.raises(HandoffStateError, match="held by maria"):
            mark_handed_back(s, handoff_id, "jun")
        with pytest.raises(HandoffStateError, match="Hand handoff .* back"):
            close_handoff(s, handoff_id, "maria", "connected")
        assert open_handoff(s, "c1", "rest", "request").id == handoff_id  # still the live one
        mark_handed_back(s, handoff_id, "maria")
        again = open_handoff(s, "c1", "rest", "emergency", "self_harm")  # the bot has it again: a new one
        assert again.id != handoff_id and again.status == "open"
        with pytest.raises(ValueError, match="outcome"):
            close_handoff(s, handoff_id, "jun", "fine")
        closed = close_handoff(s, handoff_id, "jun", "connected")  # nobody holds it now
        assert (closed.status, closed.closed_by, closed.outcome) == ("closed", "jun", "connected")
        assert [h.id for h in list_handoffs(s, "closed")] == [handoff_id]


def test_an_unclaimed_notice_is_reserved_once(engine):
    with db.session_scope(engine) as s:
        first = open_handoff(s, "c1", "rest", "request").id
        second = open_handoff(s, "c2", "rest", "request").id
        claim_handoff(s, second, "maria")
        assert unclaimed_since(s, utcnow() + dt.timedelta(seconds=1)) == [first]
        assert unclaimed_since(s, utcnow() - dt.timedelta(minutes=1)) == []
        assert reserve_unclaimed_notice(s, first) is not None
        assert reserve_unclaimed_notice(s, first) is None
        assert reserve_unclaimed_notice(s, second) is None
        assert unclaimed_since(s, utcnow() + dt.timedelta(seconds=1)) == []


def test_a_handle_is_short_stable_and_does_not_contain_the_id():
    handle = conversation_handle("+15550100999")
    assert re.fullmatch(r"C-[0-9A-F]{6}", handle) and handle == conversation_handle("+15550100999")
    assert "0100999" not in handle and handle != conversation_handle("+15550100998")


def test_lock_out_counts_per_name_and_address_and_per_address_and_ends_with_the_window(engine):
    policy = LockoutPolicy(per_pair=3, per_address=5, minutes=15)
    with db.session_scope(engine) as s:
        add_advocate(s, "maria", "a long enough password")
        for _ in range(2):
            assert sign_in(s, "maria", "wrong", "10.0.0.1", policy).locked is False
        assert sign_in(s, "maria", "wrong", "10.0.0.1", policy).locked is True
        assert sign_in(s, "maria", "a long enough password", "10.0.0.1", policy).advocate is None
        s.execute(text("UPDATE login_failure SET at = :at"), {"at": utcnow() - dt.timedelta(minutes=16)})
        assert sign_in(s, "maria", "a long enough password", "10.0.0.1", policy).advocate is not None
        assert s.query(LoginFailure).filter_by(name="maria").count() == 0  # the window passed; nothing counted
        for number in range(5):
            sign_in(s, f"guess{number}", "wrong", "10.0.0.2", policy)
        assert sign_in(s, "maria", "a long enough password", "10.0.0.2", policy).locked is True
        assert sign_in(s, "maria", "a long enough password", "10.0.0.3", policy).advocate is not None


def test_transcript_lines_keep_what_people_saw_and_nothing_else():
    lines = transcript_lines({"sender_id": "+15550100999", "events": [
        {"event": "session_started", "timestamp": 1},
        {"event": "user", "text": "help", "timestamp": 2, "metadata": {"phone": "+15550100999"}},
        {"event": "action", "name": "action_emergency", "timestamp": 3},
        {"event": "bot", "text": None, "data": {"buttons": [{"title": "Yes"}, "junk"]}, "timestamp": 4},
        {"event": "pause", "timestamp": 5},
        {"event": "bot", "text": "Hi, I'm Jun.", "metadata": {"advocate": "jun"}, "timestamp": 6},
        {"event": "resume", "timestamp": "not a time"},
    ]})
    assert [(l.who, l.text, l.advocate, l.buttons) for l in lines] == [
        ("survivor", "help", None, ()), ("bot", "", None, ("Yes",)), ("paused", "", None, ()),
        ("advocate", "Hi, I'm Jun.", "jun", ()), ("resumed", "", None, ())]
    assert lines[0].at == dt.datetime(1970, 1, 1, 0, 0, 2)
    assert "15550100999" not in str([l.to_dict() for l in lines])


def test_create_schema_adds_new_columns_to_an_older_handoff_table(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/old.db")
    with engine.begin() as connection:  # the table as the first version created it, with a row
        connection.execute(text("CREATE TABLE handoff (id INTEGER PRIMARY KEY, conversation_id VARCHAR(255) NOT NULL, "
                                "channel VARCHAR(50) NOT NULL, priority VARCHAR(20) NOT NULL, status VARCHAR(20) NOT NULL, "
                                "reason VARCHAR(50), created_at DATETIME NOT NULL, claimed_at DATETIME, "
                                "claimed_by VARCHAR(100), closed_at DATETIME)"))
        connection.execute(text("INSERT INTO handoff (conversation_id, channel, priority, status, created_at) "
                                "VALUES ('old', 'rest', 'emergency', 'open', '2024-01-01 00:00:00')"))
    schema.create_schema(engine)
    schema.create_schema(engine)  # idempotent
    columns = {c["name"] for c in inspect(engine).get_columns("handoff")}
    assert {"outcome", "handed_back_at", "closed_by", "unclaimed_notice_at"} <= columns
    with db.session_scope(engine) as s:
        (old,) = list_handoffs(s, "open")
        assert old.conversation_id == "old" and old.outcome is None
        claim_handoff(s, old.id, "maria")


def test_pages_have_no_inline_script_style_or_event_handler():
    """The CSP forbids them; a page that used one would silently break in the browser."""
    for template in TEMPLATES.glob("*.html"):
        markup = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", markup), template.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", markup, re.I), template.name
    script = (STATIC / "console.js").read_text()
    assert "innerHTML" not in script and "eval(" not in script
