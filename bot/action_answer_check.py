"""Rasa's check of the action server's answers, made once per schema instead of on every turn.

Rasa 3.6 checks every answer of the action server with `jsonschema.validate`, which first checks
the (constant, large) answer schema itself against the JSON Schema meta-schema, on every call:
39 ms of the Rasa server's one thread per turn, the biggest single cost of a turn
(benchmarks/load/README.md). Here the validator is built and the schema checked once; a valid
answer costs 0.3 ms. An invalid answer still goes through Rasa's own code, so it raises Rasa's
own error with Rasa's message, as before.

`install()` is called by the server policy every Rasa server installs (bot/channels/server_policy.py);
it replaces one method of Rasa's `RemoteAction` and changes nothing else.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction

_rasa_check = RemoteAction._validate_action_result


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # what jsonschema.validate does on every call
    return validator_class(schema)


def _check_answer(self: RemoteAction, result: Dict[str, Any]) -> bool:
    if best_match(_validator().iter_errors(result)) is None:
        return True
    return _rasa_check(self, result)  # invalid: Rasa raises its own ValidationError


def install() -> None:
    """Use the once-built validator for every action server answer (idempotent)."""
    RemoteAction._validate_action_result = _check_answer


def installed() -> bool:
    return RemoteAction._validate_action_result is _check_answer
