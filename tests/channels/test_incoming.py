"""Every channel reads a person's text as words: never as a Rasa command."""
import pytest

from bot.channels.incoming import exit_message, plain_text, user_message
from rasa.core.channels.channel import CollectingOutputChannel


@pytest.mark.parametrize("text, words", [("/restart", "restart"), ("  //restart", "restart"),
                                         ('/emergency{"danger_type": "x"}', 'emergency{"danger_type": "x"}'),
                                         ("/ need a shelter", "need a shelter"), ("I need a shelter", "I need a shelter"),
                                         ("", ""), (None, "")])
def test_slash_commands_reach_nlu_as_plain_words(text, words):
    assert plain_text(text) == words
    assert user_message(text, CollectingOutputChannel(), "s1", "rest").parse_data is None


def test_only_the_channel_can_end_a_conversation():
    message = exit_message(CollectingOutputChannel(), "s1", "twilio")
    assert message.parse_data["intent"]["name"] == "restart" and message.input_channel == "twilio"
