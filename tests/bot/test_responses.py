"""The words the assistant says (DEVELOPERS.md, "Words the assistant says"), checked on every
response in the domain."""
import re

import pytest
import textstat
import yaml

from navigator.config import ROOT

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
RESPONSES = {name: v["text"] for name, variations in DOMAIN["responses"].items() for v in variations if v.get("text")}
# Whole messages (fragments such as a kind's name are judged inside the messages they join).
MESSAGES = {name: text for name, text in RESPONSES.items() if not name.startswith("utter_part_")}
BLAMING = re.compile(r"\b(why did(n't)? you|you should have|your fault|you let|you chose|provoke)", re.I)
POLICE_CONDITION = re.compile(r"\b(must|have to|need to|required to)\b[^.]*\b(police|report)", re.I)
SMS_LIMIT = 320


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_fits_in_an_sms(name):
    assert len(RESPONSES[name]) <= SMS_LIMIT


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_reads_at_grade_six_or_below(name):
    text = re.sub(r"\{\w+\}", "Omaha", MESSAGES[name])
    assert textstat.flesch_kincaid_grade(text) <= 6.0, text


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_never_asks_why_never_blames_never_requires_police(name):
    text = RESPONSES[name]
    assert not re.search(r"\bwhy\b[^.?]*\?", text, re.I)
    assert not BLAMING.search(text)
    assert not POLICE_CONDITION.search(text) or "never" in text.lower()


def test_every_response_is_used_by_a_rule_or_an_action():
    sources = "".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    sources += "".join(p.read_text() for p in (ROOT / "bot" / "data").glob("*.yml"))
    unused = [name for name in RESPONSES if name not in sources and not name.startswith("utter_part_kind_")
              and not name.startswith("utter_part_lines_")]
    assert unused == []


def test_emergency_responses_name_911_or_988():
    for name in ("utter_emergency_danger", "utter_emergency_self_harm", "utter_emergency_medical"):
        assert re.search(r"\b(911|988)\b", RESPONSES[name])
    assert "988" in RESPONSES["utter_emergency_self_harm"]


def test_the_greeting_says_it_is_automated_and_not_police_or_immigration():
    greeting = RESPONSES["utter_greet"].lower()
    assert "automated" in greeting and "police" in greeting and "immigration" in greeting


def test_every_kind_of_help_has_a_name_and_national_lines():
    for kind in ("shelter", "mental_health", "substance_use", "legal"):
        assert f"utter_part_kind_{kind}" in RESPONSES
        assert re.search(r"\d-\d{3}-\d{3}-\d{4}|\b988\b", RESPONSES[f"utter_part_lines_{kind}"])
