"""navigator.rasa_cli: what the Rasa server's and the action server's entries share. A refusal is
one line naming the server and exit status 2; an app without what its server keeps is refused at
Sanic's `run`; the command line reaches Rasa's CLI as given (after the checks), with new files
private. The two entries' own refusals go through it."""
from __future__ import annotations

import os
import sys

import pytest
from sanic import Sanic

from navigator import action_server, rasa_cli, rasa_server


def test_a_refusal_is_one_line_naming_the_server_and_exit_status_2(capsys):
    with pytest.raises(SystemExit) as refused:
        rasa_cli.refuse("some server", "a reason")
    assert refused.value.code == 2
    assert capsys.readouterr().err == "some server: not starting: a reason\n"


def test_an_app_without_what_its_server_keeps_is_refused_at_run(monkeypatch, capsys):
    ran = []
    monkeypatch.setattr(Sanic, "run", lambda app, *args, **kwargs: ran.append(app))  # undone after the test
    rasa_cli.refuse_apps_without("some server", lambda app: app == "kept", lambda app: f"{app} keeps nothing")
    Sanic.run("kept")
    with pytest.raises(SystemExit) as refused:
        Sanic.run("bare")
    assert refused.value.code == 2 and ran == ["kept"]
    assert capsys.readouterr().err == "some server: not starting: bare keeps nothing\n"


def test_the_checked_arguments_reach_rasa_after_the_preparation_with_a_private_umask(monkeypatch):
    import rasa.__main__

    seen = {}
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.setdefault("argv", list(sys.argv)))
    previous = os.umask(0o022)
    try:
        rasa_cli.start(["run", "--port", "1"], lambda argv: [*argv, "--added"],
                       lambda: seen.setdefault("umask", os.umask(0o077)))
    finally:
        os.umask(previous)
    assert seen == {"umask": 0o077, "argv": ["rasa", "run", "--port", "1", "--added"]}


@pytest.mark.parametrize("entry, argv, said", [
    (action_server.main, ["run"], "action server: not starting: usage: python -m navigator.action_server run actions"),
    (rasa_server.main, ["run", "actions"], "rasa server: not starting: usage: python -m navigator.rasa_server run"),
])
def test_each_entry_refuses_the_other_s_command_line(entry, argv, said, capsys):
    previous = os.umask(0o022)
    try:
        with pytest.raises(SystemExit) as refused:
            entry(argv)
    finally:
        os.umask(previous)
    assert refused.value.code == 2 and capsys.readouterr().err.startswith(said)
