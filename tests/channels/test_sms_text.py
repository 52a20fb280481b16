"""How the bot's messages become SMS text, and how a texter's short replies are read."""
import pytest

from bot.channels.sms.keywords import keyword
from bot.channels.sms.text import chosen_payload, number_reply, split_for_sms, turn_text
from infra.sms_charset import SMS_MAX_CHARS, sms_length

OPTIONS = [{"title": "Shelter", "payload": "I need a shelter"}, {"title": "Legal help", "payload": "I need legal help"}]


def test_a_short_reply_is_one_message():
    assert split_for_sms("Call 911.") == ["Call 911."]


def test_a_long_reply_is_cut_at_paragraphs_and_loses_no_words():
    services = [f"{n}. Service number {n}\nCall (555) 0100-{n:04d}\n1.{n} miles away. Open 9 to 5." for n in range(60)]
    text = "\n\n".join(services)
    parts = split_for_sms(text)
    assert len(parts) > 1 and all(sms_length(p) <= SMS_MAX_CHARS for p in parts)
    assert "\n\n".join(parts) == text  # every cut fell between two services
    assert all(p.split("\n")[0].split(". ")[0].isdigit() for p in parts)  # each message starts with a service


def test_a_long_paragraph_is_cut_at_sentences_then_words():
    sentences = " ".join(f"This is sentence {n} of a long answer." for n in range(120))
    parts = split_for_sms(sentences)
    assert all(sms_length(p) <= SMS_MAX_CHARS for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == sentences
    one_word_after_another = " ".join(["word"] * 900)
    assert all(sms_length(p) <= SMS_MAX_CHARS and not p.startswith(" ") for p in split_for_sms(one_word_after_another))
    assert " ".join(split_for_sms(one_word_after_another)) == one_word_after_another


def test_text_without_any_boundary_is_still_cut_to_the_limit():
    parts = split_for_sms("x" * 4000)
    assert [len(p) for p in parts] == [1600, 1600, 800]


def test_emoji_count_twice_as_twilio_counts_them():
    parts = split_for_sms("🙂" * 1000)
    assert all(sms_length(p) <= SMS_MAX_CHARS for p in parts) and "".join(parts) == "🙂" * 1000
    assert len(parts) == 2


def test_a_turn_reads_as_one_text_with_numbered_options():
    text = turn_text([("I'm an automated helper.", []),
                      ("What kind of help do you want?", ["Reply 1 for Shelter", "Reply 2 for Legal help"])])
    assert text == ("I'm an automated helper.\n\nWhat kind of help do you want?\n"
                    "Reply 1 for Shelter\nReply 2 for Legal help")


@pytest.mark.parametrize("reply, payload", [("1", "I need a shelter"), (" 2 ", "I need legal help"),
                                            ("#2", "I need legal help"), ("2.", "I need legal help"),
                                            ("3", None), ("0", None), ("1 please", None), ("12345", None)])
def test_a_bare_number_picks_an_option(reply, payload):
    assert chosen_payload(reply, OPTIONS) == payload


def test_a_number_without_options_picks_nothing():
    assert number_reply("2") == 2 and chosen_payload("2", []) is None


@pytest.mark.parametrize("text, word", [("STOP", "STOP"), ("stop", "STOP"), (" Stop. ", "STOP"), ("help!", "HELP"),
                                        ("Exit", "EXIT"), ("stop it", ""), ("please stop now", ""), ("", "")])
def test_keywords_are_whole_messages_in_any_case(text, word):
    assert keyword(text) == word
