"""The words the assistant says, checked on every response in the domain (bot.response_rules holds the
rules: one SMS, grade 6, no "why", no blame, no police condition), plus what every conversation
must hear once, and a second language added without code."""
import copy
import re

import pytest
import yaml

from bot import response_rules as wording
from bot.actions.find_help import service_text
from bot.actions.response_parts import phrase
from infra.config import ROOT
from tests.helpers import make_tracker

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
VARIATIONS = [(name, index, variation) for name, items in DOMAIN["responses"].items()
              for index, variation in enumerate(items)]


def keeps_the_rules(name, variation):
    """The check each response goes through (also run on broken responses below)."""
    report = wording.domain_problems({"responses": {name: [variation]}})
    assert report == {}, report


@pytest.mark.parametrize("name, index, variation", VARIATIONS, ids=[f"{n}[{i}]" for n, i, _ in VARIATIONS])
def test_every_response_keeps_the_rules(name, index, variation):
    keeps_the_rules(name, variation)


@pytest.mark.parametrize("name, text, broken", [
    ("utter_long", "Call us. " * 40, "characters"),
    ("utter_hard", "Notwithstanding jurisdictional considerations, comprehensive confidentiality protections "
                   "encompass communications transmitted electronically.", "reading grade"),
    ("utter_why", "Why did you not leave sooner?", "asks why"),
    ("utter_why_soft", "Can you tell me why you stayed?", "asks why"),
    ("utter_blame", "You should have called us earlier.", "blames"),
    ("utter_fault", "It was not your fault, but you let him back in.", "blames"),
    ("utter_police_first", "You must report it to the police first. Then we can help.", "police"),
    ("utter_police_only_if", "We can find you a bed only if you file a report.", "police"),
])
def test_the_checks_fail_a_response_that_breaks_a_rule(name, text, broken):
    with pytest.raises(AssertionError) as failure:
        keeps_the_rules(name, {"text": text})
    assert broken in str(failure.value)


def test_saying_help_never_depends_on_police_passes():
    keeps_the_rules("utter_ok", {"text": "You never have to report anything to get help here."})


def test_a_broken_button_title_fails_too():
    with pytest.raises(AssertionError):
        keeps_the_rules("utter_ok", {"text": "Pick one.", "buttons": [{"title": "Why did you stay?", "payload": "x"}]})


def test_every_response_is_used_by_a_rule_or_the_code():
    sources = "".join(p.read_text() for folder in ("bot", "console", "navigator") for p in (ROOT / folder).rglob("*.py"))
    sources += "".join(p.read_text() for p in (ROOT / "bot" / "data").glob("*.yml"))
    unused = [name for name in DOMAIN["responses"] if name not in sources
              and not name.startswith(("utter_part_kind_", "utter_part_lines_"))]
    assert unused == []


def test_the_intro_says_automated_and_not_police_or_immigration():
    for name in ("utter_intro", "utter_iamabot"):
        text = phrase(DOMAIN, name).lower()
        assert "automated" in text and "police" in text and "immigration" in text, name


def test_the_sms_note_says_how_to_delete_the_thread_and_how_to_stop():
    text = phrase(DOMAIN, "utter_sms_privacy_note")
    assert "delete" in text.lower() and "STOP" in text


def test_emergency_responses_name_911_or_988():
    for name in ("utter_emergency_danger", "utter_emergency_self_harm", "utter_emergency_medical"):
        assert re.search(r"\b(911|988)\b", phrase(DOMAIN, name))
    assert "988" in phrase(DOMAIN, "utter_emergency_self_harm")


def test_every_kind_of_help_has_a_name_and_national_lines():
    for kind in ("shelter", "mental_health", "substance_use", "legal"):
        assert phrase(DOMAIN, f"utter_part_kind_{kind}")
        assert re.search(r"\d-\d{3}-\d{3}-\d{4}|\b988\b", phrase(DOMAIN, f"utter_part_lines_{kind}"))


class _Service:
    """A fictional directory entry with long but ordinary values."""
    name = "Riverside Family Safety Center"
    phone = "(555) 010-2030"
    distance_km = 12.3
    hours = "Mon-Fri 8am-6pm, Sat 10am-2pm"
    is_demo = True


def test_a_listed_service_with_its_header_fits_one_sms_and_reads_plainly():
    tracker = make_tracker()
    header = phrase(DOMAIN, "utter_part_results_header", kind_name=phrase(DOMAIN, "utter_part_kind_mental_health"),
                    place="Council Bluffs, IA")
    message = f"{header}\n\n{service_text(DOMAIN, tracker, 1, _Service())}"
    assert len(message) <= wording.SMS_LIMIT
    assert wording.reading_grade(header) <= wording.MAX_GRADE


def test_hours_and_other_towns_messages_fit_one_sms():
    hours = "\n".join([phrase(DOMAIN, "utter_part_hours_header")] + [
        phrase(DOMAIN, "utter_part_service_hours", number=n, name=_Service.name, hours=_Service.hours)
        for n in (1, 2, 3)])
    assert len(hours) <= wording.SMS_LIMIT
    assert wording.problems(phrase(DOMAIN, "utter_other_towns", town="Springfield")) == []


# --- A second language needs no code --------------------------------------------------------

SPANISH = {"type": "slot", "name": "language", "value": "es"}


def with_spanish(domain):
    domain = copy.deepcopy(domain)
    domain["responses"]["utter_greet"].append({"text": "Puedo buscar ayuda cerca de ti. ¿Qué ayuda quieres?",
                                               "condition": [SPANISH]})
    domain["responses"]["utter_part_kind_legal"].append({"text": "ayuda legal", "condition": [SPANISH]})
    return domain


def test_the_actions_pieces_follow_the_language_slot():
    domain = with_spanish(DOMAIN)
    assert phrase(domain, "utter_part_kind_legal", tracker=make_tracker({"language": "es"})) == "ayuda legal"
    assert phrase(domain, "utter_part_kind_legal", tracker=make_tracker({"language": "en"})) == "legal help"
    assert phrase(domain, "utter_part_kind_legal") == "legal help"


def test_rasa_says_the_variation_for_the_language_slot():
    import asyncio

    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.from_dict(with_spanish(DOMAIN))
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    tracker = DialogueStateTracker.from_events("es-1", [], slots=domain.slots)
    tracker.slots["language"].value = "es"
    spanish = asyncio.run(nlg.generate("utter_greet", tracker, "rest"))
    tracker.slots["language"].value = "en"
    english = asyncio.run(nlg.generate("utter_greet", tracker, "rest"))
    assert spanish["text"].startswith("Puedo") and english["text"].startswith("I can find")


def test_the_domain_declares_the_language_slot_for_translations():
    assert DOMAIN["slots"]["language"]["initial_value"] == "en"
