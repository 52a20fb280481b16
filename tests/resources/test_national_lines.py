"""The national 24/7 lines are data (resources/taxonomy/data/national_lines.csv); the bot says them in words in
domain.yml, so every number here must be in that kind's words there."""
import re

import pytest
import yaml

from infra.config import ROOT
from resources.taxonomy.kinds import KINDS, UnknownKindError
from resources.taxonomy.national_lines import national_lines


@pytest.fixture(scope="module")
def lines_in_domain() -> dict[str, str]:
    responses = yaml.safe_load((ROOT / "domain.yml").read_text())["responses"]
    return {kind: " ".join(r["text"] for r in responses[f"utter_part_lines_{kind}"]) for kind in KINDS}


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.mark.parametrize("kind", KINDS)
def test_every_number_of_a_kind_is_in_the_bot_s_words_for_it(kind, lines_in_domain):
    words = lines_in_domain[kind]
    lines = national_lines(kind)
    assert lines, f"no national line for {kind}"
    for line in lines:
        assert line.hours == "24/7"
        if line.phone:
            assert line.phone in words, f"{line.name} {line.phone} is not in utter_part_lines_{kind}"
        if line.text:
            assert digits(line.text) in digits(words), f"{line.name} text {line.text} is not in utter_part_lines_{kind}"


def test_lines_by_kind_and_all_of_them():
    assert [line.name for line in national_lines("mental health")][0] == "988 Suicide & Crisis Lifeline"
    assert {line.kind for line in national_lines()} == set(KINDS)
    with pytest.raises(UnknownKindError):
        national_lines("food")
