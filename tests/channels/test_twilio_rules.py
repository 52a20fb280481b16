"""What the SMS line makes of a text before the assistant sees it: opt-out keywords (as Twilio's
Advanced Opt-Out reads them), EXIT, HELP, a picture, and which options a number picks from."""
import datetime as dt

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from bot.channels.sms.keywords import IncomingSms, what_to_do
from bot.channels.sms.webhook import offered_options

OPTIONS = [{"title": "Shelter", "payload": "I need a shelter"}]


def sms(body="", media=0, opt_out_type=""):
    return IncomingSms("+15550105001", body, media, opt_out_type)


@pytest.mark.parametrize("body, opt_out_type, opted_out, action", [
    ("STOP", "", False, "stop"), ("unsubscribe", "", False, "stop"), ("Quit.", "", True, "stop"),
    ("arret", "STOP", False, "stop"),  # Twilio recognised a custom opt-out keyword
    ("START", "", True, "start"), ("yes", "", True, "start"), ("unstop", "", True, "start"),
    ("yes", "", False, "turn"), ("start", "", False, "turn"),  # words to answer, unless the texter opted out
    ("go", "START", False, "start"),  # Twilio recognised a custom opt-in keyword
    ("I need a shelter in Boise", "", True, "ignore"), ("help", "", True, "ignore"),
    ("HELP", "", False, "help"), ("info", "", False, "help"), ("aide", "HELP", False, "help"),
    ("exit", "", False, "exit"), ("EXIT!", "", False, "exit"),
    ("please stop texting me about the shelter", "", False, "turn"), ("/restart", "", False, "turn"),
])
def test_keywords(body, opt_out_type, opted_out, action):
    assert what_to_do(sms(body, opt_out_type=opt_out_type), opted_out) == action


def test_a_picture_without_words_and_an_empty_text():
    assert what_to_do(sms("", media=1), False) == "picture"
    assert what_to_do(sms("  ", media=0), False) == "nothing"
    assert what_to_do(sms("shelter in Boise", media=2), False) == "turn"  # the words are answered


def test_a_number_picks_from_the_last_message_only_if_it_offered_options():
    asked = [UserUttered("hi"), ActionExecuted("utter_greet"), BotUttered("What kind of help?", {"buttons": OPTIONS})]
    assert offered_options(asked) == OPTIONS
    answered = asked + [UserUttered("1")]
    assert offered_options(answered) == []
    advocate_after = asked + [BotUttered("Hi, this is Sam, an advocate.", {})]
    assert offered_options(advocate_after) == []
    assert offered_options([]) == []


def test_the_form_twilio_posts_is_read_with_care():
    incoming = IncomingSms.from_form({"From": "+15550105002", "Body": "hi", "NumMedia": "x", "OptOutType": "stop"})
    assert incoming == IncomingSms("+15550105002", "hi", 0, "STOP")


def test_delete_asks_first_and_only_yes_soon_after_erases():
    from bot.channels.sms.keywords import delete_pending
    from bot.channels.sms.store import Texter, utcnow

    assert what_to_do(sms("Delete."), False) == "delete"
    assert what_to_do(sms("delete my number please"), False) == "turn"  # a keyword is the whole text
    assert what_to_do(sms("yes"), False, delete_pending=True) == "erase"
    assert what_to_do(sms("yes please"), False, delete_pending=True) == "turn"  # anything else keeps it
    assert what_to_do(sms("STOP"), False, delete_pending=True) == "stop"
    asked = Texter("sms-1", "+15550105003", False, utcnow())
    assert delete_pending(asked) and not delete_pending(Texter("sms-1", "+15550105003", False))
    assert not delete_pending(asked, now=asked.delete_requested_at + dt.timedelta(minutes=11))
