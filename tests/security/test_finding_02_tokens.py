"""Finding 2 (issue 14): API tokens could not be revoked (a `revoked_at` column nothing set), had
no expiry and no scope, and their use was not audited: a leaked integration token read and acted
on survivors' conversations for ever, and nobody could see that it did.

The attack: hold a token as a leak would, and use it after `navigator tokens revoke`, after its
expiry, and, for a read-only token, to claim, reply to, release and close a handoff.

What must happen: a revoked or an expired token gets 401 and nothing else, a read-only token 403
for each step; each time the handoff stays as it was and Rasa is asked nothing (no pause, no words
to the survivor). Every use, refusals included, is in the audit log under the token's name, with
no words of the conversation. `navigator tokens list` never prints a token or its hash.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import update

from console.tokens import ApiToken
from conversations.handoffs import utcnow
from navigator.cli import main
from tests.console.test_console_pages import audit_rows, handoff_row, new_handoff
from tests.helpers import Browser, console_with_advocates, http

STEPS = ("claim", "reply", "release", "close")
UNAUTHORIZED = (401, {"error": "unauthorized"})


@pytest.fixture(scope="module")
def console(tmp_path_factory, rasa):
    process = console_with_advocates(tmp_path_factory.mktemp("finding-02"), rasa, ("auditor",),
                                     HANDOFF_UNCLAIMED_MINUTES="600")
    yield process
    process.stop()


@pytest.fixture
def cli(console, monkeypatch, capsys):
    """`navigator ARGS...` on the console's database: (exit code, what it printed)."""
    monkeypatch.setenv("DATABASE_URL", console.url)

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(list(args))
        return code, capsys.readouterr().out
    return run


def new_token(cli, name: str, *options: str) -> str:
    code, out = cli("tokens", "create", name, *options)
    assert code == 0
    return out.strip().splitlines()[-1]


def use(console, token: str, handoff_id: int) -> dict[str, tuple]:
    """Every API call a token can make, on one handoff: {what: (status, body)}."""
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{console.base}/api/handoffs"
    answers = {"list": http("GET", f"{base}?status=open", headers=headers),
               "handoff": http("GET", f"{base}/{handoff_id}", headers=headers),
               "transcript": http("GET", f"{base}/{handoff_id}/transcript", headers=headers)}
    for step in STEPS:
        answers[step] = http("POST", f"{base}/{handoff_id}/{step}", {"text": "come outside, it's me"},
                             headers=headers)
    return answers


def unchanged(console, rasa, handoff_id: int) -> bool:
    row = handoff_row(console, handoff_id)
    return (row.status, row.claimed_by, row.closed_at) == ("open", None, None) and rasa.take_calls() == []


def refusals(console, actor: str, detail: str) -> int:
    return sum(1 for who, action, why in audit_rows(console) if (who, action, why) == (actor, "api_refused", detail))


def test_a_revoked_token_gets_401_at_once_and_changes_nothing(console, rasa, cli):
    token = new_token(cli, "leaked-crm")
    handoff_id, _ = new_handoff(console)
    assert http("GET", f"{console.base}/api/handoffs", headers={"Authorization": f"Bearer {token}"})[0] == 200
    assert cli("tokens", "revoke", "leaked-crm")[0] == 0
    rasa.take_calls()
    assert all(answer == UNAUTHORIZED for answer in use(console, token, handoff_id).values())
    assert unchanged(console, rasa, handoff_id)
    assert refusals(console, "token:leaked-crm", "revoked") == 7  # the leak's use shows, under its name


def test_an_expired_token_gets_401_and_changes_nothing(console, rasa, cli):
    token = new_token(cli, "contractor", "--expires-in", "1")
    handoff_id, _ = new_handoff(console)
    assert http("GET", f"{console.base}/api/handoffs/{handoff_id}", headers={"Authorization": f"Bearer {token}"})[0] == 200
    with console.session() as session:  # a day passes
        session.execute(update(ApiToken).where(ApiToken.name == "contractor")
                        .values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    rasa.take_calls()
    assert all(answer == UNAUTHORIZED for answer in use(console, token, handoff_id).values())
    assert unchanged(console, rasa, handoff_id)
    assert refusals(console, "token:contractor", "expired") == 7


def test_a_read_only_token_reads_but_every_step_is_403_and_changes_nothing(console, rasa, cli):
    token = new_token(cli, "dashboard", "--read-only")
    handoff_id, _ = new_handoff(console)
    rasa.take_calls()
    answers = use(console, token, handoff_id)
    assert {what: answers[what][0] for what in ("list", "handoff", "transcript")} == \
        {"list": 200, "handoff": 200, "transcript": 200}
    for step in STEPS:
        status, body = answers[step]
        assert status == 403 and "read" in body["error"]
    assert unchanged(console, rasa, handoff_id)
    assert refusals(console, "token:dashboard", "read_only") == 4


def test_every_use_is_in_the_audit_log_under_the_token_name_without_words(console, rasa, cli):
    token = new_token(cli, "hotline-crm")
    handoff_id, _ = new_handoff(console)
    answers = use(console, token, handoff_id)
    assert all(status == 200 for status, _ in answers.values()), answers
    mine = [(action, detail) for who, action, detail in audit_rows(console) if who == "token:hotline-crm"]
    assert mine == [("listed", None), ("looked_up", None), ("viewed", None), ("claimed", None),
                    ("replied", None), ("handed_back", None), ("closed", "other")]
    assert [action for _, action, _ in audit_rows(console, handoff_id)] == \
        ["looked_up", "viewed", "claimed", "replied", "handed_back", "closed"]

    reader = Browser(console.base)
    assert reader.sign_in("auditor")[0] == 303
    status, page = reader.get("/audit")  # what a supervisor reads
    assert status == 200 and "token:hotline-crm" in page and "come outside" not in page
    assert token not in console.log.read_text(errors="replace")  # nor is a token ever logged


def test_tokens_list_never_prints_a_token_or_its_hash(console, cli):
    made = [new_token(cli, "listed-a"), new_token(cli, "listed-b", "--read-only", "--expires-in", "7")]
    code, listing = cli("tokens", "list")
    assert code == 0 and "listed-a\tact\tlive" in listing and "listed-b\tread\tlive" in listing
    for token in made:
        assert token not in listing and hashlib.sha256(token.encode()).hexdigest() not in listing
    assert "nav_" not in listing


def test_revoking_a_name_with_no_live_token_is_a_clear_error(cli):
    with pytest.raises(SystemExit) as error:
        cli("tokens", "revoke", "never-made")
    assert error.value.code != 0 and "no token called 'never-made'" in str(error.value.code)
