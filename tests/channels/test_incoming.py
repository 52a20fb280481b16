"""Every channel reads a person's text as words: never as a Rasa command."""
import pytest
from rasa.core.channels.channel import CollectingOutputChannel

from bot.channels.incoming import MAX_TEXT_CHARS, exit_message, is_too_long, plain_text, user_message


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


def test_a_long_message_is_cut_after_a_whole_word_and_the_channel_knows():
    danger = "He has a gun and says he will kill me. "
    text = danger + "I do not know what to do now. " * 100
    words = plain_text(text)
    assert is_too_long(text) and len(words) <= MAX_TEXT_CHARS and words.startswith(danger.strip())
    assert text.startswith(words) and text[len(words)] == " "  # ends at a whole word
    assert not is_too_long("x" * MAX_TEXT_CHARS) and plain_text("x" * MAX_TEXT_CHARS) == "x" * MAX_TEXT_CHARS
    assert plain_text("y" * 5000) == "y" * MAX_TEXT_CHARS  # no space to cut at: cut at the limit
