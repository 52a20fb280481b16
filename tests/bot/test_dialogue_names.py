"""The dialogue's names are written once, in bot/dialogue.py, and each one is declared where Rasa
reads it: a rename in domain.yml or bot/data that the code does not follow (or the reverse) fails
here, not at a survivor's turn."""
from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest
import yaml
from rasa_sdk import Action

from bot import dialogue
from infra.config import ROOT

BOT = ROOT / "bot"
DIALOGUE_FILE = BOT / "dialogue.py"

# Literals under bot/ that equal a declared name but are truly something else: (file, the text
# of the line that holds it). Keep this short; a dialogue name is imported from bot.dialogue.
NOT_DIALOGUE_NAMES = {
    # The key of the emergency examples in the safety model's data files (safety_data/*.yml).
    ("bot/components/safety_model.py", 'data.get("emergency")'),
}


def _name(item: Any) -> str:
    return item if isinstance(item, str) else next(iter(item))


def _data_files() -> List[Dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) or {} for path in sorted((BOT / "data").glob("*.yml"))]


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@pytest.fixture(scope="module")
def declared(domain) -> Dict[str, Set[str]]:
    """Every name domain.yml and bot/data declare, by kind."""
    data = _data_files()
    responses = set(domain.get("responses") or {})
    for part in data:
        responses |= set(part.get("responses") or {})
    return {
        "intent": {_name(i) for i in domain.get("intents") or []},
        "trained intent": {block["intent"] for part in data for block in part.get("nlu") or [] if "intent" in block},
        "entity": {_name(e) for e in domain.get("entities") or []},
        "slot": set(domain.get("slots") or {}),
        "action": set(domain.get("actions") or []),
        "action in a rule": {step["action"] for part in data for rule in part.get("rules") or []
                             for step in rule.get("steps") or [] if "action" in step},
        "response": responses,
    }


def constants(prefix: str) -> Dict[str, str]:
    return {name: value for name, value in vars(dialogue).items()
            if name.startswith(prefix) and isinstance(value, str) and not name.endswith("_PREFIX")}


GROUPS = ("INTENT_", "ENTITY_", "SLOT_", "ACTION_", "UTTER_", "AWAITING_", "MARK_")


def test_every_constant_belongs_to_a_group_the_tests_check():
    public = [name for name, value in vars(dialogue).items() if name.isupper() and not name.startswith("_")]
    assert [name for name in public if not name.startswith(GROUPS) and name != "KIND_INTENTS"] == []


def test_every_intent_is_declared_and_trained(declared):
    for name, value in constants("INTENT_").items():
        assert value in declared["intent"], f"{name} = {value!r} is not an intent in domain.yml"
        assert value in declared["trained intent"], f"{name} = {value!r} has no examples in bot/data"


def test_every_slot_entity_action_and_response_is_declared(declared):
    kinds = {"ENTITY_": "entity", "SLOT_": "slot", "ACTION_": "action", "UTTER_": "response"}
    for prefix, kind in kinds.items():
        for name, value in constants(prefix).items():
            assert value in declared[kind], f"{name} = {value!r} is not a declared {kind} (domain.yml, bot/data)"
    for name, value in constants("ACTION_").items():
        assert value in declared["action in a rule"], f"{name} = {value!r} is run by no rule in bot/data"


def test_names_are_written_once_in_the_dialogue_module():
    for prefix in ("INTENT_", "ENTITY_", "SLOT_", "ACTION_", "UTTER_"):
        values = list(constants(prefix).values())
        assert len(values) == len(set(values)), f"a {prefix} name is defined twice"
    assert dialogue.MARK_SAFETY_CHECK not in constants("ENTITY_").values()


def test_the_kinds_of_help_match_the_service_kind_slot(domain, declared):
    slot = domain["slots"][dialogue.SLOT_SERVICE_KIND]
    from_intents = {m["intent"]: m["value"] for m in slot["mappings"] if m.get("type") == "from_intent"}
    assert dialogue.KIND_INTENTS == from_intents
    for kind in slot["values"]:
        assert dialogue.utter_part_kind(kind) in declared["response"]
        assert dialogue.utter_part_lines(kind) in declared["response"]


def test_the_awaiting_values_are_distinct():
    values = list(constants("AWAITING_").values())
    assert len(values) == len(set(values)) == 4


def _action_classes() -> Iterator[type]:
    import bot.actions  # noqa: F401  (registers every action)

    seen: Set[type] = set()
    stack = list(Action.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        stack += cls.__subclasses__()
        if cls.__module__.startswith("bot.actions") and not inspect.isabstract(cls):
            yield cls


def test_each_action_class_is_named_by_its_action_constant(declared):
    names = {cls: cls().name() for cls in _action_classes()}
    action_constants = set(constants("ACTION_").values())
    assert set(names.values()) <= action_constants
    assert len(set(names.values())) == len(names), "two action classes share a name"
    custom = {name for name in declared["action"] if name.startswith("action_")}
    assert set(names.values()) == custom == action_constants
    for cls in names:  # name() returns the constant itself, not a copy of its text
        returned = [node for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(cls.name))))
                    if isinstance(node, ast.Return)]
        assert returned and all(isinstance(node.value, ast.Name) and node.value.id.startswith("ACTION_")
                                for node in returned), f"{cls.__name__}.name() should return an ACTION_ constant"


def _literals(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, value) of every string literal in a Python file, and of every f-string's fixed start."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            start = str(node.values[0].value)
            if start.startswith(("utter_", "action_")):  # a name built from pieces: a prefix in bot.dialogue
                yield node.lineno, start


def test_no_module_under_bot_spells_a_dialogue_name(declared):
    names = {name: kind for kind in ("intent", "slot", "entity", "action", "response") for name in declared[kind]}
    found = []
    for path in sorted(BOT.rglob("*.py")):
        if path == DIALOGUE_FILE:
            continue
        relative = path.relative_to(ROOT).as_posix()
        lines = path.read_text().splitlines()
        for line, value in sorted(set(_literals(path))):
            built = value.startswith(("utter_", "action_")) and value not in names
            if value not in names and not built:
                continue
            if any(file == relative and snippet in lines[line - 1] for file, snippet in NOT_DIALOGUE_NAMES):
                continue
            found.append(f"{relative}:{line}: {value!r} ({names.get(value, 'not declared: a prefix or a typo?')})")
    assert found == [], "import these names from bot.dialogue:\n" + "\n".join(found)


def test_the_allow_list_holds_only_lines_that_exist():
    for file, snippet in NOT_DIALOGUE_NAMES:
        assert snippet in (ROOT / file).read_text(), f"{file} no longer has {snippet!r}: drop it from the list"
