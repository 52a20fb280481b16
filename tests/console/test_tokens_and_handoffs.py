"""API tokens (`navigator tokens create|revoke|list`: scope, expiry, last use) and the handoff
queue, below the HTTP layer."""
import datetime as dt

import pytest
from sqlalchemy import inspect, text

from console import tokens
from console.tokens import ApiToken, create_token, find_token, verify_token
from conversations.handoffs import list_handoffs, open_handoff, utcnow
from infra import db
from navigator import schema
from navigator.cli import main


@pytest.fixture
def engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/navigator.db"
    monkeypatch.setenv("DATABASE_URL", url)
    engine = db.get_engine()
    schema.create_schema(engine)
    return engine


def test_tokens_create_prints_a_working_token_last_and_stores_only_its_hash(engine, capsys):
    assert main(["tokens", "create", "hotline-crm"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    with db.session_scope(engine) as session:
        assert verify_token(session, token).name == "hotline-crm"
        assert verify_token(session, token + "x") is None
        assert all(token not in row.token_hash for row in session.query(ApiToken))


def test_a_token_needs_a_name_on_one_line(engine, capsys):
    for bad in ("  ", "crm\nsigned_in maria", "x" * 81):
        with pytest.raises(SystemExit) as error:
            main(["tokens", "create", bad])
        assert "name" in str(error.value)
    assert main(["tokens", "create", "hotline crm"]) == 0  # words with spaces are a name


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


def test_a_read_only_token_with_an_expiry_is_stored_so(engine, capsys):
    assert main(["tokens", "create", "dashboard", "--read-only", "--expires-in", "30"]) == 0
    assert main(["tokens", "create", "crm", "--scope", "act", "--expires", "2099-12-31"]) == 0
    with db.session_scope(engine) as session:
        rows = {row.name: row for row in session.query(ApiToken)}
        assert (rows["dashboard"].scope, rows["dashboard"].may_act) == ("read", False)
        assert 29.9 < (rows["dashboard"].expires_at - utcnow()).total_seconds() / 86400 <= 30
        assert (rows["crm"].scope, rows["crm"].expires_at) == ("act", dt.datetime(2099, 12, 31))


@pytest.mark.parametrize("options, complaint", [
    (["--expires", "2001-01-01"], "future"), (["--expires", "next week"], "date like"),
    (["--expires-in", "0"], "above 0"), (["--expires-in", "1e300"], "above 0"), (["--scope", "admin"], None)])
def test_a_bad_scope_or_expiry_is_refused_and_makes_no_token(engine, options, complaint, capsys):
    with pytest.raises(SystemExit) as error:
        main(["tokens", "create", "crm", *options])
    assert error.value.code != 0
    if complaint:
        assert complaint in str(error.value)
    with db.session_scope(engine) as session:
        assert session.query(ApiToken).count() == 0


def test_revoke_ends_every_live_token_of_the_name(engine, capsys):
    assert main(["tokens", "create", "crm"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["tokens", "create", "crm"]) == 0  # a second one while the integration rotates
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert second != token
    with db.session_scope(engine) as session:
        assert verify_token(session, token) is not None and verify_token(session, second) is not None
    assert main(["tokens", "revoke", "crm"]) == 0
    with db.session_scope(engine) as session:
        for ended in (token, second):  # a leaked one is never missed
            assert verify_token(session, ended) is None and find_token(session, ended).refusal() == "revoked"
    with pytest.raises(SystemExit, match="already stopped working") as again:
        main(["tokens", "revoke", "crm"])
    assert again.value.code != 0
    with pytest.raises(SystemExit, match="no token called 'nobody'"):
        main(["tokens", "revoke", "nobody"])
    assert main(["tokens", "create", "crm"]) == 0  # the name is free again: a new token


def test_an_expired_token_no_longer_verifies(engine):
    with db.session_scope(engine) as session:
        token = create_token(session, "crm", expires_at=utcnow() + dt.timedelta(days=1))
        assert verify_token(session, token) is not None
        find_token(session, token).expires_at = utcnow() - dt.timedelta(seconds=1)  # a day later
        assert verify_token(session, token) is None and find_token(session, token).refusal() == "expired"


def test_tokens_list_shows_scope_state_and_times_never_a_token(engine, capsys):
    assert main(["tokens", "list"]) == 0
    assert "No API tokens yet" in capsys.readouterr().out
    made = []
    for options in (["crm"], ["dashboard", "--read-only", "--expires", "2099-01-01"], ["old"]):
        assert main(["tokens", "create", *options]) == 0
        made.append(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["tokens", "revoke", "old"]) == 0
    capsys.readouterr()
    with db.session_scope(engine) as session:
        tokens.note_use(session, find_token(session, made[0]))
    assert main(["tokens", "list"]) == 0
    listing = capsys.readouterr().out
    lines = {line.split("\t")[0]: line.split("\t") for line in listing.strip().splitlines()}
    assert lines["NAME"] == ["NAME", "SCOPE", "STATE", "CREATED", "EXPIRES", "LAST USED"]
    assert lines["crm"][1:3] == ["act", "live"] and lines["crm"][4] == "never" and lines["crm"][5] != "never"
    assert lines["dashboard"][1:3] == ["read", "live"] and lines["dashboard"][4] == "2099-01-01 00:00 UTC"
    assert lines["old"][2].startswith("revoked ") and lines["old"][5] == "never"
    for token in made:
        assert token not in listing and tokens._hash(token) not in listing
    assert "nav_" not in listing


def test_last_use_is_written_at_most_once_a_minute(engine):
    with db.session_scope(engine) as session:
        row = find_token(session, create_token(session, "crm"))
        tokens.note_use(session, row)
        session.refresh(row)
        first = row.last_used_at
        assert first is not None
        row.last_used_at = first - dt.timedelta(seconds=30)  # used half a minute ago
        session.flush()
        tokens.note_use(session, row)
        session.refresh(row)
        assert row.last_used_at == first - dt.timedelta(seconds=30)  # not written again
        row.last_used_at = first - dt.timedelta(minutes=2)
        session.flush()
        tokens.note_use(session, row)
        session.refresh(row)
        assert row.last_used_at >= first


def test_an_older_token_table_gets_the_new_columns_and_its_tokens_keep_working(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/old.db")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE api_token (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, "
                                "token_hash VARCHAR(64) NOT NULL UNIQUE, created_at DATETIME NOT NULL, "
                                "revoked_at DATETIME)"))
        connection.execute(text("INSERT INTO api_token (name, token_hash, created_at) VALUES "
                                "('legacy', :digest, '2024-01-01 00:00:00')"), {"digest": tokens._hash("nav_legacy")})
    schema.create_schema(engine)
    assert {"scope", "expires_at", "last_used_at"} <= {c["name"] for c in inspect(engine).get_columns("api_token")}
    with db.session_scope(engine) as session:
        row = verify_token(session, "nav_legacy")
        assert row is not None and row.may_act and row.expires_at is None  # as it could before: read and act
