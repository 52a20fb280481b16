"""The national 24/7 lines for each KIND: what to offer when nothing local matches or the person gives
no place. Kept as data (`data/national_lines.csv`) so the CLI and the console can list them; the bot
says them in words in domain.yml (`utter_part_lines_<kind>`), and a test checks that every number
here is in those words.
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from resources.taxonomy.kinds import KINDS, normalize_kind

NATIONAL_LINES_PATH = Path(__file__).resolve().parent / "data" / "national_lines.csv"


@dataclass(frozen=True)
class NationalLine:
    kind: str
    name: str
    phone: str | None  # as people dial it: "1-800-799-7233", "988"
    text: str | None  # what to text, where: "START to 88788", "233733"
    hours: str
    about: str

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=1)
def _all_lines() -> tuple[NationalLine, ...]:
    with open(NATIONAL_LINES_PATH, newline="", encoding="utf-8") as f:
        lines = tuple(NationalLine(r["kind"].strip(), r["name"].strip(), r["phone"].strip() or None,
                                   r["text"].strip() or None, r["hours"].strip(), r["about"].strip())
                      for r in csv.DictReader(f))
    unknown = {line.kind for line in lines} - set(KINDS)
    if unknown:
        raise ValueError(f"{NATIONAL_LINES_PATH}: unknown kind(s) {sorted(unknown)}")
    return lines


def national_lines(kind: str | None = None) -> list[NationalLine]:
    """The national lines for `kind` (every line when None), in the order they should be offered."""
    if kind is None:
        return list(_all_lines())
    kind = normalize_kind(kind)
    return [line for line in _all_lines() if line.kind == kind]
