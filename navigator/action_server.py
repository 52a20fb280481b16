"""How the navigator starts its action server: `python -m navigator.action_server run actions ...`, with
the arguments of `rasa run actions`, and with one addition: every request but `/health` must
carry the shared secret, or it gets 401 and nothing runs.

Why: the action server listens on loopback, and loopback is not a boundary: any local process, or
a request forged through any service on the machine (SSRF), could otherwise POST a made-up
tracker to /webhook and have the actions run with it (open handoffs, search as a survivor, send
an advocate's alerts). Only the Rasa server knows the secret: endpoints.yml's action_endpoint sends
it as `Authorization: Bearer ${NAVIGATOR_ACTION_SECRET}`, a variable navigator/rasa_server.py sets in its own
process.

The secret is derived from the navigator's secret key (infra.secret_key), so there is nothing
more to configure, store or pass around: each of the two processes derives it for itself, and it
appears on no command line and in no child's environment. `/health` stays open: it says only that
the process answers (navigator serve and the console's /healthz wait on it).

The check is added through rasa_sdk's own extension point (the `attach_sanic_app_extensions`
hook its `run` calls on the app it builds), and the app is refused at start if the check is not
on it, so a change in rasa_sdk cannot silently drop it (navigator/rasa_cli.py: the steps it shares
with the Rasa server).
"""
from __future__ import annotations

import hmac
from typing import Any, List, Optional

import pluggy
from sanic import response

from infra.secret_key import derived_key
from navigator import (
    rasa_cli,
    schema,  # noqa: F401  (every table's owner and retention rule, as in every process)
)

SECRET_VARIABLE = "NAVIGATOR_ACTION_SECRET"  # endpoints.yml reads it in the Rasa server's process
SECRET_INFO = "navigator action server secret v1"
AUTHORIZATION_PREFIX = "Bearer "
OPEN_PATHS = frozenset({"/health"})
SERVER = "action server"


def shared_secret() -> str:
    """The secret the Rasa server sends and the action server requires (hex, 64 characters)."""
    return derived_key(SECRET_INFO).hex()


def authorized(authorization: Optional[str], secret: str) -> bool:
    """Whether an `Authorization` header carries `secret` (compared in constant time)."""
    if not authorization or not authorization.startswith(AUTHORIZATION_PREFIX):
        return False
    return hmac.compare_digest(authorization[len(AUTHORIZATION_PREFIX):].encode(), secret.encode())


def require_secret(app: Any, secret: str) -> None:
    """Refuse (401) every request to `app` but OPEN_PATHS that does not carry `secret`."""
    async def check_secret(request: Any) -> Any:
        if request.path in OPEN_PATHS or authorized(request.headers.get("authorization"), secret):
            return None
        return response.json({"error": "not authorized"}, status=401)

    app.register_middleware(check_secret, "request")
    app.ctx.navigator_action_secret = True


hookimpl = pluggy.HookimplMarker("rasa_sdk")


class SecretPlugin:
    """rasa_sdk's plugin: puts the secret check on the app its `run` builds."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    @hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        require_secret(app, self.secret)


def install(secret: str) -> None:
    """Have rasa_sdk's server require `secret`, and refuse to run an app without the check."""
    from rasa_sdk.plugin import plugin_manager  # here: the Rasa server imports this module, never rasa_sdk's server

    manager = plugin_manager()
    if any(isinstance(plugin, SecretPlugin) for plugin in manager.get_plugins()):
        return
    manager.register(SecretPlugin(secret))
    rasa_cli.refuse_apps_without(SERVER, lambda app: getattr(app.ctx, "navigator_action_secret", False),
                                 lambda _app: "the app does not require the action secret")


def action_arguments(argv: List[str]) -> List[str]:
    """`argv` as it is when it starts an action server (`run actions ...`); anything else is refused."""
    if argv[:2] != ["run", "actions"]:
        rasa_cli.refuse(SERVER, "usage: python -m navigator.action_server run actions "
                                "[the options of `rasa run actions`]")
    return argv


def main(argv: Optional[List[str]] = None) -> None:
    rasa_cli.start(argv, action_arguments, lambda: install(shared_secret()))


if __name__ == "__main__":
    main()
