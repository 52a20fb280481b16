"""Emergency signals: caught whatever the wording, and not raised by everyday idioms."""
import pytest

from bot.components.safety import CHECK_THRESHOLD, detect, load_lexicon
from bot.components.safety_model import DEFAULT_THRESHOLD


@pytest.mark.parametrize("text, category", [
    ("he has a gun and he's here", "danger"),
    ("he is choking me", "danger"),
    ("they locked me in and won't let me go", "danger"),
    ("my pimp is outside", "danger"),
    ("he said he's gonna kill me", "danger"),
    ("I'm scared he will kill me", "danger"),
    ("he's hurting my kids", "danger"),
    ("i am going to kill myself tonight", "self_harm"),
    ("i took all my pills", "self_harm"),
    ("im gonna kms", "self_harm"),
    ("i wanna die", "self_harm"),
    ("I don't want to live anymore", "self_harm"),
    ("she's not breathing", "medical"),
    ("he hit me and im pregnant", "danger"),  # violence still happening comes first; both say 911
    ("im 7 months pregnant and bleeding", "medical"),
    ("I overdosed", "medical"),
])
def test_emergencies_are_caught_with_their_category(text, category):
    signal = detect(text)
    assert signal is not None, text
    assert signal.category == category


@pytest.mark.parametrize("text", [
    "this paperwork is killing me",
    "my phone is about to die",
    "my phone is dying",
    "I need an emergency shelter",
    "I left him a year ago and need a divorce lawyer",
    "he used to hit me, I need a lawyer",
    "is the counseling free",
    "I need a shelter in Boise",
    "can you shoot me a text with the address",
    "my boss has my passport",
])
def test_everyday_phrases_do_not_raise_an_emergency(text):
    assert detect(text) is None


def test_danger_told_as_history_escalates_when_it_is_happening_now_too():
    assert detect("he choked me two years ago") is None
    assert detect("he choked me years ago and he is outside now").category == "danger"


def test_lexicon_has_every_category_and_compiles():
    lexicon = load_lexicon()
    assert all(lexicon.categories[c] for c in ("self_harm", "danger", "medical"))


def _message(text, intent, confidence):
    from rasa.shared.nlu.training_data.message import Message

    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    return message


def test_an_emergency_keeps_the_kind_of_help_the_classifiers_were_sure_it_asks_for():
    from bot.components.safety import SafetySignalClassifier

    component = SafetySignalClassifier()
    sure, unsure = component.process([_message("i need a shelter, he is choking me", "need_shelter", 0.9),
                                      _message("he is choking me", "need_shelter", 0.3)])
    assert sure.get("intent")["name"] == unsure.get("intent")["name"] == "emergency"
    assert {(e["entity"], e["value"]) for e in sure.get("entities")} == {("danger_type", "danger"),
                                                                          ("service_kind", "shelter")}
    assert [e["entity"] for e in unsure.get("entities")] == ["danger_type"]


class _Model:
    """A stand-in for the trained classifier that is this sure of an emergency."""

    def __init__(self, probability):
        self.p = probability

    def probability(self, _features):
        return self.p

    def category(self, _features):
        return "danger"


BETWEEN_THE_THRESHOLDS = (CHECK_THRESHOLD + DEFAULT_THRESHOLD) / 2


@pytest.mark.parametrize("probability, emergency, check", [(0.9, True, None), (BETWEEN_THE_THRESHOLDS, False, "danger"),
                                                            (0.1, False, None)])
def test_near_an_emergency_the_answer_names_the_numbers_without_a_handoff(probability, emergency, check):
    from bot.components.safety import assess

    result = assess("the guy took my key card and i cant go back", model=_Model(probability))
    assert (result.signal is not None, result.check) == (emergency, check)
