"""Console subcommands of the `navigator` CLI: `tokens create NAME`."""
from __future__ import annotations

import argparse

from navigator import db
from navigator.tokens import create_token


def register(subparsers: argparse._SubParsersAction) -> None:
    tokens = subparsers.add_parser("tokens", help="API tokens for the console's JSON API")
    actions = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token; it is printed once, as the last line")
    create.add_argument("name", help="who or what will use the token, e.g. 'hotline-crm'")
    create.set_defaults(handler=tokens_create)


def tokens_create(args: argparse.Namespace) -> int:
    db.create_schema()
    try:
        with db.session_scope() as session:
            token = create_token(session, args.name)
    except ValueError as error:
        raise SystemExit(f"navigator tokens create: {error}") from None
    print(f"Token for {args.name.strip()!r} (shown only now; store it somewhere safe):")
    print(token)
    return 0
