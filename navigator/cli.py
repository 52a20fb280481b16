"""`navigator`: the command line of the navigator (CONTRACT.md, "CLI").

Each area registers its own subcommands, so the CLI only assembles them and every command
calls the same functions the bot and the console use.
"""
from __future__ import annotations

import argparse
import logging
import sys

COMMAND_MODULES = ("resources.commands", "console.commands", "conversations.retention", "navigator.rekey", "navigator.serve")


def build_parser() -> argparse.ArgumentParser:
    import importlib

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
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
