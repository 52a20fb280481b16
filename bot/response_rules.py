"""The rules for every word the assistant says, as checks a test (and a translator) can run.

Survivors read these messages in a hard moment, often on a phone someone else may see:
- short enough for one SMS: 320 characters at most, in GSM-7 characters only (one curly quote or
  emoji makes every segment of a text hold 70 characters instead of 160: infra.sms_charset);
- plain: Flesch-Kincaid grade 6 or below (textstat, offline; English responses only);
- never asks "why" (it sounds like blame, and no one owes us their story);
- never blames ("you should have", "your fault", "provoked"...);
- never makes help depend on the police ("you must report it first", "only if you file a report").

    python -m bot.response_rules [domain.yml]    # every response that breaks a rule, exit 1 if any
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import textstat
import yaml

from bot.dialogue import SLOT_LANGUAGE, UTTER_PART_PREFIX
from infra.sms_charset import outside_gsm7

SMS_LIMIT = 320
MAX_GRADE = 6.0
# Pieces (`utter_part_*`) are judged for length and wording, and for grade inside the messages
# the actions build from them (tests/bot/test_responses.py).
PLACEHOLDER = re.compile(r"\{\w+\}")
WHY_QUESTION = re.compile(r"\bwhy\b[^.?!]*\?", re.I)
BLAMING = re.compile(
    r"\b(why did(n'?t| not)? you|you should(n'?t| not)? have|(it'?s|was) your (own )?fault|your fault"
    r"|you let (him|her|them|it) |you chose to|you provoked|provok\w*|you asked for it|you deserved?"
    r"|what were you (doing|wearing|thinking)|you were (drinking|high|drunk)|you put yourself)",
    re.I)
POLICE = re.compile(r"\b(police|cops?|law enforcement|officers?|report(s|ed|ing)?)\b", re.I)
CONDITION = re.compile(r"\b(must|have to|has to|need to|needs to|required?|only if|only after|unless|once you"
                       r"|after you|before (we|i|you can)|first)\b", re.I)
NEGATION = re.compile(r"\b(never|do(es)?n'?t have to|do(es)? not have to|not required|no need|won'?t make you"
                      r"|don'?t need to|do not need to)\b", re.I)


def sentences(text: str) -> List[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def readable_text(text: str) -> str:
    """The text as a person reads it: placeholders filled with a short place name."""
    return PLACEHOLDER.sub("Omaha", text)


def reading_grade(text: str) -> float:
    return textstat.flesch_kincaid_grade(readable_text(text))


def problems(text: str, whole_message: bool = True, english: bool = True) -> List[str]:
    """What is wrong with one message (empty when it keeps every rule)."""
    found = []
    if len(text) > SMS_LIMIT:
        found.append(f"{len(text)} characters, over one SMS ({SMS_LIMIT})")
    if outside_gsm7(text):
        found.append(f"not GSM-7: {outside_gsm7(text)!r}")
    if english and whole_message:
        grade = reading_grade(text)
        if grade > MAX_GRADE:
            found.append(f"reading grade {grade:.1f}, over {MAX_GRADE:.0f}")
    if english:
        if WHY_QUESTION.search(text):
            found.append("asks why")
        if BLAMING.search(text):
            found.append("blames: " + BLAMING.search(text).group(0))
        for sentence in sentences(text):
            if POLICE.search(sentence) and CONDITION.search(sentence) and not NEGATION.search(sentence):
                found.append(f"makes help depend on the police: {sentence.strip()!r}")
    return found


def variations(domain: Dict[str, Any]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    for name, items in (domain.get("responses") or {}).items():
        for variation in items or []:
            yield name, variation


def is_english(variation: Dict[str, Any]) -> bool:
    languages = [c.get("value") for c in variation.get("condition") or [] if c.get("name") == SLOT_LANGUAGE]
    return not languages or languages == ["en"]


def domain_problems(domain: Dict[str, Any]) -> Dict[str, List[str]]:
    """Every response (each variation, and its button titles) that breaks a rule."""
    report: Dict[str, List[str]] = {}
    for name, variation in variations(domain):
        english = is_english(variation)
        found = problems(variation.get("text") or "", not name.startswith(UTTER_PART_PREFIX), english)
        for button in variation.get("buttons") or []:
            found += [f"button {button.get('title')!r}: {p}"
                      for p in problems(button.get("title") or "", False, english)]
        if found:
            report.setdefault(name, []).extend(found)
    return report


def main(argv: List[str]) -> int:
    path = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "domain.yml"
    report = domain_problems(yaml.safe_load(path.read_text()))
    for name, found in report.items():
        for problem in found:
            print(f"{name}: {problem}")
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
