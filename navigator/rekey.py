"""`navigator rekey`, and the re-keying every start does while NAVIGATOR_SECRET_KEY_PREVIOUS is set.

What is re-sealed, and how (the sealed columns say so in their `info`), is infra.rekey's.
"""
from __future__ import annotations

import argparse
import logging
from typing import Optional

from sqlalchemy.engine import Engine

from infra import secret_key
from infra.rekey import RekeyReport, rekey

logger = logging.getLogger(__name__)


def rekey_at_start_up(engine: Optional[Engine] = None) -> Optional[RekeyReport]:
    """Re-key while NAVIGATOR_SECRET_KEY_PREVIOUS is set; nothing (no reads) otherwise."""
    if not secret_key.previous_secrets():
        return None
    report = rekey(engine)
    if sum(report.resealed.values()):
        logger.warning("rows re-sealed under the current NAVIGATOR_SECRET_KEY: %d", sum(report.resealed.values()))
    return report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rekey", help="re-seal every sealed record under the current NAVIGATOR_SECRET_KEY "
                      "(then NAVIGATOR_SECRET_KEY_PREVIOUS may be dropped)")
    parser.add_argument("--check", action="store_true", help="only count, change nothing")
    parser.set_defaults(handler=rekey_command)


def rekey_command(args: argparse.Namespace) -> int:
    try:
        secret_key.previous_secrets()
    except secret_key.SecretKeyError as error:
        raise SystemExit(f"navigator rekey: {error}") from None
    report = rekey(dry_run=args.check)
    for line in report.lines(scan=args.check):
        print(line)
    if not args.check and not report.unreadable_total:
        print("every sealed record opens with the current secret: NAVIGATOR_SECRET_KEY_PREVIOUS may be dropped "
              "once every server runs with this NAVIGATOR_SECRET_KEY")
    return 1 if report.unreadable_total else 0
