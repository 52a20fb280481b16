"""`navigator`: the command line of the navigator (CONTRACT.md, "CLI").

Each area registers its own subcommands, so the CLI only assembles them and every command
calls the same functions the bot and the console use. A subcommand that needs the database says
so (`set_defaults(needs_schema=True)`), and the CLI creates the schema before running it: the
areas below navigator may not import navigator.schema, which loads every table's owner (and
makes this process complete for retention: `navigator purge`).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from navigator import schema

COMMAND_MODULES = ("resources.commands", "console.commands", "conversations.retention", "navigator.rekey", "navigator.serve")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="navigator", description="Survivor resource navigator")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        if getattr(args, "needs_schema", False):
            try:
                schema.create_schema()
            except SQLAlchemyError as error:  # the driver's own words: no parameters, so no stored value
                print(f"navigator {args.command}: error: the database could not be set up: "
                      f"{getattr(error, 'orig', None) or type(error).__name__}\nNothing was changed.", file=sys.stderr)
                return 1
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
