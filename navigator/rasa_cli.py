"""What the navigator's two Rasa processes share (navigator.rasa_server: `rasa run`;
navigator.action_server: `rasa run actions`): each checks its command line, installs what its
server must keep (the server policy; the action secret), refuses to start an app that does not
keep it, then hands the command line to Rasa's own CLI in this process.

Why one place: the two must refuse the same way (one line on stderr naming the server and why,
exit status 2, so `navigator serve` and an operator see the same kind of failure), make new files
private (umask 077, before anything is opened: the SQLite tracker store and its journal), and
check the app at Sanic's `run`, the one call every Rasa and rasa_sdk app goes through, so that a
change in Rasa that skipped a hook stops the server instead of serving without what it keeps.
`sys.argv` here is this process's copy: /proc/PID/cmdline still shows what was exec'd, so an
argument added here (the API's secret) is seen by Rasa's parser and by no other local user.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, List, NoReturn, Optional

from sanic import Sanic


def refuse(server: str, why: str) -> NoReturn:
    """`server` is not started: one line saying why, exit status 2."""
    print(f"{server}: not starting: {why}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def refuse_apps_without(server: str, keeps: Callable[[Any], bool], why: Callable[[Any], str]) -> None:
    """From now on Sanic runs only apps for which `keeps(app)`; any other is refused with `why(app)`."""
    sanic_run = Sanic.run

    def run(app: Any, *args: Any, **kwargs: Any) -> Any:
        if not keeps(app):
            refuse(server, why(app))
        return sanic_run(app, *args, **kwargs)

    Sanic.run = run  # type: ignore[method-assign]


def start(argv: Optional[List[str]], arguments: Callable[[List[str]], List[str]],
          prepare: Callable[[], None]) -> None:
    """Run Rasa's CLI with `arguments(argv)` (argv: what follows `python -m ...`, by default this
    process's), after `prepare()` has installed what the server keeps; new files are private."""
    os.umask(0o077)
    handed = arguments(list(sys.argv[1:] if argv is None else argv))
    prepare()
    from rasa.__main__ import main as rasa_main  # here: after the checks, so a refusal takes no Rasa start-up

    sys.argv = ["rasa", *handed]
    rasa_main()
