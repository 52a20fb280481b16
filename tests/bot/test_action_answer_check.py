"""The Rasa server's faster check of action server answers lets exactly the same answers through
as Rasa's own, and refuses a malformed one with Rasa's own error."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot import action_answer_check


@pytest.fixture
def check():
    action_answer_check.install()
    return RemoteAction("action_find_help", None)._validate_action_result


def test_an_answer_of_the_search_action_passes(check):
    answer = {"events": [{"event": "slot", "name": "service_kind", "value": "shelter", "timestamp": None}],
              "responses": [{"text": "Foothills Quiet House, (555) 0100-1000", "template": None}]}
    assert check(answer) is True
    assert action_answer_check.installed()


@pytest.mark.parametrize("answer", [{"responses": "x"}, {"events": [{"no_event_name": 1}]}])
def test_a_malformed_answer_raises_rasas_own_error(check, answer):
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        check(answer)
