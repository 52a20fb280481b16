"""Console subcommands of the `navigator` CLI: `tokens create|revoke|list` for integrations, and
`advocates add|list|disable|enable|set-password|set-display-name` for the people who sign in."""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from typing import Optional

from console import accounts as advocates
from console import tokens as api_tokens
from infra import db
from infra.clock import utcnow


def register(subparsers: argparse._SubParsersAction) -> None:
    tokens = subparsers.add_parser("tokens", help="API tokens for the console's JSON API")
    tokens.set_defaults(needs_schema=True)  # navigator.cli creates the schema first
    actions = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token; it is printed once, as the last line")
    create.add_argument("name", help="who or what will use the token, e.g. 'hotline-crm' (one live token a name)")
    scope = create.add_mutually_exclusive_group()
    scope.add_argument("--scope", choices=api_tokens.SCOPES, default=api_tokens.ACT,
                       help="read: the queue and transcripts only; act (the default): also claim, reply, "
                            "release and close")
    scope.add_argument("--read-only", dest="scope", action="store_const", const=api_tokens.READ,
                       help="the same as --scope read")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in", type=float, metavar="DAYS", help="stop working after DAYS days")
    expiry.add_argument("--expires", metavar="DATE",
                        help="stop working at DATE (YYYY-MM-DD: at the start of that day, UTC; or an ISO time)")
    create.set_defaults(handler=tokens_create)
    revoke = actions.add_parser("revoke", help="end a token now: its next request gets 401")
    revoke.add_argument("name")
    revoke.set_defaults(handler=tokens_revoke)
    listing = actions.add_parser("list", help="list tokens: name, scope, state, created, expiry, last use "
                                              "(never the token)")
    listing.set_defaults(handler=tokens_list)

    people = subparsers.add_parser("advocates", help="advocate accounts for the console")
    people.set_defaults(needs_schema=True)
    actions = people.add_subparsers(dest="advocates_command", required=True, metavar="ACTION")
    for name, handler, help_text in (("add", advocates_add, "add an advocate (asks for a password)"),
                                     ("set-password", advocates_set_password, "give an advocate a new password")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("name", help="the name they sign in with")
        action.add_argument("--password-stdin", action="store_true",
                            help="read the password from the first line of standard input (for scripts)")
        action.set_defaults(handler=handler)
        if name == "add":
            action.add_argument("--display-name", default="",
                                help="how survivors see them when they join a chat: a first name or a role "
                                     "(they can change it in the console)")
    display = actions.add_parser("set-display-name", help="set how survivors see an advocate who joins a chat")
    display.add_argument("name", help="the name they sign in with")
    display.add_argument("display_name", help='a first name or a role, like "Maria"; "" for none ("an advocate")')
    display.set_defaults(handler=advocates_set_display_name)
    listing = actions.add_parser("list", help="list advocates: active or disabled, sign-in slowed by failures or not")
    listing.set_defaults(handler=advocates_list)
    for name, handler, help_text in (("disable", advocates_disable, "stop an advocate signing in (ends their sessions)"),
                                     ("enable", advocates_enable, "let a disabled advocate sign in again")):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("name")
        action.set_defaults(handler=handler)


def token_expiry(days: Optional[float], date: Optional[str]) -> Optional[dt.datetime]:
    """When a new token stops working (naive UTC), from --expires-in or --expires; None for never."""
    if days is not None:
        try:
            if days > 0:
                return utcnow() + dt.timedelta(days=days)
        except OverflowError:
            pass
        raise ValueError("--expires-in needs a number of days above 0, and a date this calendar has")
    if date is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(date.strip())
    except ValueError:
        raise ValueError(f"--expires needs a date like 2031-12-31 (or an ISO time), not {date!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def _when(moment: Optional[dt.datetime], never: str = "never") -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else never


def tokens_create(args: argparse.Namespace) -> int:
    try:
        expires_at = token_expiry(args.expires_in, args.expires)
        with db.session_scope() as session:
            token = api_tokens.create_token(session, args.name, args.scope, expires_at)
    except ValueError as error:
        raise SystemExit(f"navigator tokens create: {error}") from None
    may = "read only" if args.scope == api_tokens.READ else "read and act"
    print(f"Token for {args.name.strip()!r}, {may}, expires {_when(expires_at)}; it is shown only now, "
          "so store it somewhere safe:")
    print(token)
    return 0


def tokens_revoke(args: argparse.Namespace) -> int:
    try:
        with db.session_scope() as session:
            api_tokens.revoke_token(session, args.name)
    except LookupError as error:
        raise SystemExit(f"navigator tokens revoke: {error.args[0]}") from None
    print(f"Revoked the token {args.name.strip()!r}: its next request gets 401.")
    return 0


def tokens_list(args: argparse.Namespace) -> int:
    """One tab-separated line a token, under a header; no token and no hash is ever printed."""
    now = utcnow()
    with db.session_scope() as session:
        rows = [(t.name, t.effective_scope,
                 "revoked " + _when(t.revoked_at) if t.revoked_at else t.refusal(now) or "live",
                 _when(t.created_at), _when(t.expires_at), _when(t.last_used_at))
                for t in api_tokens.list_tokens(session)]
    if not rows:
        print("No API tokens yet. Create one with: navigator tokens create NAME")
        return 0
    print("NAME\tSCOPE\tSTATE\tCREATED\tEXPIRES\tLAST USED")
    for row in rows:
        print("\t".join(row))
    return 0


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice at a prompt that does not echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password (at least {advocates.MIN_PASSWORD_LENGTH} characters): ")
    if getpass.getpass("The same password again: ") != first:
        raise ValueError("the two passwords are not the same")
    return first


def _change(command: str, work) -> int:
    try:
        with db.session_scope() as session:
            message = work(session)
    except ValueError as error:
        raise SystemExit(f"navigator advocates {command}: {error}") from None
    print(message)
    return 0


def advocates_add(args: argparse.Namespace) -> int:
    try:
        password = read_password(args.password_stdin)
    except ValueError as error:
        raise SystemExit(f"navigator advocates add: {error}") from None
    def add(session) -> str:
        advocate = advocates.add_advocate(session, args.name, password)
        if args.display_name:
            advocates.set_display_name(session, advocate.name, args.display_name)
        return f"Added advocate {advocate.name!r}."
    return _change("add", add)


def advocates_set_display_name(args: argparse.Namespace) -> int:
    def change(session) -> str:
        advocate = advocates.set_display_name(session, args.name, args.display_name)
        shown = advocate.display_name or "an advocate"
        return f"Survivors will see {advocate.name!r} as {shown!r}."
    return _change("set-display-name", change)


def advocates_set_password(args: argparse.Namespace) -> int:
    try:
        password = read_password(args.password_stdin)
    except ValueError as error:
        raise SystemExit(f"navigator advocates set-password: {error}") from None
    return _change("set-password",
                   lambda s: f"New password set for {advocates.set_password(s, args.name, password).name!r}; "
                             "their console sessions have ended.")


def advocates_disable(args: argparse.Namespace) -> int:
    return _change("disable", lambda s: f"Disabled {advocates.disable_advocate(s, args.name).name!r}; "
                                        "their console sessions have ended.")


def advocates_enable(args: argparse.Namespace) -> int:
    return _change("enable", lambda s: f"Enabled {advocates.enable_advocate(s, args.name).name!r}.")


def advocates_list(args: argparse.Namespace) -> int:
    from console.settings import lockout_policy  # the console's settings check the whole environment: only here

    policy = lockout_policy()
    with db.session_scope() as session:
        rows = [(a.name, "active" if a.active else "disabled",
                 "sign-in slowed by failed attempts" if advocates.sign_in_delay(session, a.name, policy) else "",
                 a.created_at.strftime("%Y-%m-%d")) for a in advocates.list_advocates(session)]
    if not rows:
        print("No advocates yet. Add one with: navigator advocates add NAME")
    for name, state, locked, created in rows:
        print(f"{name}\t{state}\t{'added ' + created}\t{locked}".rstrip())
    return 0
