"""API tokens (`navigator tokens create`) and the handoff queue, below the HTTP layer."""
import pytest

from navigator import db
from navigator.cli import main
from navigator.handoffs import list_handoffs, open_handoff
from navigator.tokens import ApiToken, verify_token


@pytest.fixture
def engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/navigator.db"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = db.get_engine()
    db.create_schema(engine)
    return engine


def test_tokens_create_prints_a_working_token_last_and_stores_only_its_hash(engine, capsys):
    assert main(["tokens", "create", "hotline-crm"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    with db.session_scope(engine) as session:
        assert verify_token(session, token).name == "hotline-crm"
        assert verify_token(session, token + "x") is None
        assert all(token not in row.token_hash for row in session.query(ApiToken))


def test_a_token_needs_a_name(engine):
    with pytest.raises(SystemExit) as error:
        main(["tokens", "create", "  "])
    assert "name" in str(error.value)


def test_queue_orders_emergencies_first_then_oldest(engine):
    with db.session_scope(engine) as session:
        open_handoff(session, "a", "rest", "request")
        open_handoff(session, "b", "rest", "emergency", "danger")
        open_handoff(session, "c", "rest", "request")
    with db.session_scope(engine) as session:
        assert [h.conversation_id for h in list_handoffs(session, "open")] == ["b", "a", "c"]


def test_one_live_handoff_per_conversation_and_priority_only_rises(engine):
    with db.session_scope(engine) as session:
        first = open_handoff(session, "a", "rest", "emergency", "self_harm")
        again = open_handoff(session, "a", "rest", "request")
        assert again.id == first.id and again.priority == "emergency" and again.reason == "self_harm"


def test_unknown_priority_or_status_is_refused(engine):
    with db.session_scope(engine) as session:
        with pytest.raises(ValueError):
            open_handoff(session, "a", "rest", "urgent")
        with pytest.raises(ValueError):
            list_handoffs(session, "pending")
