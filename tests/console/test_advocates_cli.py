"""`navigator advocates add|list|disable|enable|set-password`: accounts for the console."""
import io

import pytest

from console.accounts import Advocate, LockoutPolicy, sign_in, sign_in_delay
from infra import db
from navigator import schema
from navigator.cli import main

PASSWORD = "a long enough password"


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/navigator.db")
    engine = db.get_engine()
    schema.create_schema(engine)
    return engine


def add(monkeypatch, name, password=PASSWORD, *extra):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["advocates", "add", name, "--password-stdin", *extra])


def test_add_stores_only_an_argon2_hash_and_the_password_signs_in(engine, monkeypatch, capsys):
    assert add(monkeypatch, "Maria Lopez") == 0
    assert "Added advocate 'Maria Lopez'" in capsys.readouterr().out
    with db.session_scope(engine) as session:
        (advocate,) = session.query(Advocate).all()
        assert advocate.password_hash.startswith("$argon2id$") and PASSWORD not in advocate.password_hash
        assert sign_in(session, "maria lopez", PASSWORD, "10.0.0.1", LockoutPolicy()).advocate.name == "Maria Lopez"


def test_add_prompts_twice_without_echo_when_no_flag(engine, monkeypatch):
    answers = iter([PASSWORD, "something else entirely"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(SystemExit) as error:
        main(["advocates", "add", "jun"])
    assert "not the same" in str(error.value)
    answers = iter([PASSWORD, PASSWORD])
    assert main(["advocates", "add", "jun"]) == 0


@pytest.mark.parametrize("name, password, message", [
    ("maria", "short", "at least 10"),
    ("   ", PASSWORD, "a name is"),
    ("bad<name>", PASSWORD, "a name is"),
])
def test_bad_input_is_a_clear_error_and_adds_nothing(engine, monkeypatch, name, password, message):
    with pytest.raises(SystemExit) as error:
        add(monkeypatch, name, password)
    assert message in str(error.value)
    with db.session_scope(engine) as session:
        assert session.query(Advocate).count() == 0


def test_a_name_is_taken_once_whatever_its_case(engine, monkeypatch):
    add(monkeypatch, "maria")
    with pytest.raises(SystemExit) as error:
        add(monkeypatch, "MARIA")
    assert "already" in str(error.value)


def test_list_disable_enable_and_a_new_password(engine, monkeypatch, capsys):
    add(monkeypatch, "maria")
    add(monkeypatch, "jun")
    capsys.readouterr()
    assert main(["advocates", "disable", "jun"]) == 0
    assert "Disabled 'jun'" in capsys.readouterr().out
    main(["advocates", "list"])
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].startswith("jun\tdisabled") and listing[1].startswith("maria\tactive")
    with db.session_scope(engine) as session:
        assert sign_in(session, "jun", PASSWORD, "10.0.0.2", LockoutPolicy()).advocate is None
    main(["advocates", "enable", "jun"])
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert main(["advocates", "set-password", "jun", "--password-stdin"]) == 0
    with db.session_scope(engine) as session:
        assert sign_in(session, "jun", "another long password", "10.0.0.2", LockoutPolicy()).advocate is not None
    with pytest.raises(SystemExit) as error:
        main(["advocates", "disable", "nobody"])
    assert "no advocate called 'nobody'" in str(error.value)


def test_a_new_password_says_the_sessions_ended_and_list_shows_a_name_being_guessed(engine, monkeypatch, capsys):
    add(monkeypatch, "maria")
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    main(["advocates", "set-password", "maria", "--password-stdin"])
    assert "New password set for 'maria'; their console sessions have ended." in capsys.readouterr().out
    with db.session_scope(engine) as session:
        for number in range(5):  # a stranger, from five addresses
            sign_in(session, "maria", "a wrong guess", f"203.0.113.{number}", LockoutPolicy())
    main(["advocates", "list"])
    assert capsys.readouterr().out.rstrip().endswith("sign-in slowed by failed attempts")


def test_failures_of_a_name_from_anywhere_slow_it_down_and_never_lock_it(engine, monkeypatch):
    add(monkeypatch, "maria")
    policy = LockoutPolicy(per_pair=3, per_address=100, slow_after=3, max_delay_seconds=5)
    delays = []
    with db.session_scope(engine) as session:
        for number in range(7):
            delays.append(sign_in_delay(session, "maria", policy))
            assert sign_in(session, "maria", "a wrong guess", f"203.0.113.{number}", policy).locked is False
        assert delays == [0, 0, 0, 1, 2, 4, 5]
        assert sign_in(session, "maria", PASSWORD, "198.51.100.7", policy).advocate is not None
        assert sign_in_delay(session, "maria", policy) == 5  # a success clears only its own address's failures
