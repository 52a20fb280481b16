"""How the navigator starts a Rasa server: `python -m navigator.rasa_server run ...`, with the arguments of
`rasa run`, so that what every Rasa server must keep does not depend on which channels it opens
or on who started it (navigator serve, a scale-out host, a test).

- The server policy (bot/channels/server_policy.py): its settings are checked before Rasa loads
  anything, and the policy is installed on the Sanic app Rasa builds, for every app whatever the
  credentials file opens. The hook is `rasa.core.run.configure_app`, which builds the app with
  the API and without it and which `serve_application` calls for every `rasa run`; an app that
  reaches Sanic's `run` without the policy is refused, so a change in Rasa that skipped the hook
  stops the server instead of serving without the policy.
- The HTTP API's secret comes from the environment (`RASA_API_TOKEN`), never from the command
  line, which any local user can read in /proc/PID/cmdline. It is handed to Rasa's own
  argument parser in this process only (sys.argv here is a copy: /proc shows what was exec'd).
  It is Rasa's `--jwt-secret`: the console sends a short-lived HS256 JWT signed with it in an
  `Authorization` header (console/rasa_api.py), verified by Rasa's own `requires_auth`, so the
  secret itself never travels. It is not Rasa's `--auth-token`, so Rasa refuses the secret in a
  `?token=` query: a URL ends up in access logs and proxies' logs.
  `--enable-api` without RASA_API_TOKEN, or a secret on the command line, is refused.
- The action server's secret (navigator/action_server.py) is derived here from the navigator's secret
  key and put in this process's environment for endpoints.yml's action_endpoint headers, so
  Rasa sends it with every action call and it appears on no command line.
- New files (the SQLite tracker store, its journal) are private: umask 077.

The steps every Rasa process of the navigator takes (refuse, umask, hand argv to Rasa) are
navigator/rasa_cli.py's, shared with the action server.
"""
from __future__ import annotations

import os
from typing import Any, List, NoReturn, Optional

from navigator import (
    action_server,
    rasa_cli,
    schema,  # noqa: F401  (every table's retention rule: a survivor's erase runs here)
)

API_SECRET_VARIABLE = "RASA_API_TOKEN"
SECRET_OPTIONS = ("--auth-token", "--jwt-secret", "--jwt-private-key")  # and -t, --auth-token's short form
SERVER = "rasa server"  # how its refusals begin (navigator.rasa_cli.refuse)


def refuse(why: str) -> NoReturn:
    """The server is not started: one line saying why, exit status 2."""
    rasa_cli.refuse(SERVER, why)


def rasa_arguments(argv: List[str], env: Any = os.environ) -> List[str]:
    """`argv` (what follows `python -m navigator.rasa_server`) with the API secret from `env` added, for
    Rasa's own parser; refused when it would start something else than a Rasa server, carries a
    secret itself, or enables the API with no secret to guard it."""
    if not argv or argv[0] != "run" or (len(argv) > 1 and argv[1] == "actions"):
        refuse("usage: python -m navigator.rasa_server run [the options of `rasa run`] "
               "(the action server is python -m navigator.action_server run actions)")
    if any(names_a_secret(arg) for arg in argv):  # the message repeats no argument: it may be the secret
        refuse(f"a secret on the command line ({', '.join(SECRET_OPTIONS)}, -t) is readable by every "
               f"local user; set {API_SECRET_VARIABLE} in the environment instead")
    secret = env.get(API_SECRET_VARIABLE) or ""
    if "--enable-api" in argv and not secret:
        refuse(f"--enable-api needs {API_SECRET_VARIABLE}: Rasa's HTTP API would be open to anyone")
    if not secret:
        return list(argv)
    return [*argv, "--jwt-secret", secret, "--jwt-method", "HS256"]


def names_a_secret(arg: str) -> bool:
    """Whether `arg` is one of SECRET_OPTIONS as argparse reads it: whole, abbreviated
    (`--auth`), with `=VALUE`, or `-t`/`-tVALUE`."""
    if arg.startswith("-t"):
        return True
    name = arg.split("=", 1)[0]
    return len(name) > 2 and name.startswith("--") and any(option.startswith(name) for option in SECRET_OPTIONS)


def install_policy_hook() -> None:
    """Have Rasa install the server policy on every app it builds, and refuse to run one without."""
    import rasa.core.run  # here: only once the command line and the settings passed

    from bot.channels import server_policy  # here: as rasa.core.run, it loads Rasa

    if getattr(rasa.core.run.configure_app, "navigator_policy_hook", False):
        return
    rasa_configure_app = rasa.core.run.configure_app

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = rasa_configure_app(*args, **kwargs)
        server_policy.install(app)
        return app

    configure_app.navigator_policy_hook = True  # type: ignore[attr-defined]
    rasa.core.run.configure_app = configure_app
    rasa_cli.refuse_apps_without(SERVER, server_policy.installed,
                                 lambda app: f"the Sanic app {app.name!r} does not keep the server policy")


def prepare() -> None:
    """What runs between the command line's check and Rasa: the settings, the action secret, the hook."""
    from bot.channels import server_policy  # here: a refused command line stops before Rasa loads

    server_policy.check_settings()  # before Rasa loads a model: a wrong setting stops here, in a second
    os.environ[action_server.SECRET_VARIABLE] = action_server.shared_secret()
    install_policy_hook()


def main(argv: Optional[List[str]] = None) -> None:
    rasa_cli.start(argv, rasa_arguments, prepare)


if __name__ == "__main__":
    main()
