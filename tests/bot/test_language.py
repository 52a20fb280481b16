"""What the advocate is told of a survivor's language: plain when the words make it plain (Spanish,
Portuguese, French by their everyday words, typed with or without accents; Arabic, Chinese and
others by their script), nothing when they do not (one word, a place, "ok"), never a guess that
would send the wrong advocate."""
import pytest
from rasa.shared.core.events import UserUttered

from bot.nlp import language
from bot.nlp.language import conversation_language, detect, user_texts


@pytest.mark.parametrize("text, expected", [
    ("necesito un refugio cerca de Fresno", "es"),
    ("mi esposo dice que me va a matar", "es"),
    ("estoy en peligro, el esta aqui", "es"),
    ("Estoy en peligro, él está aquí", "es"),  # accents or none, the same words
    ("donde hay un abogado gratis", "es"),
    ("preciso de ajuda, ele tem uma arma", "pt"),
    ("estou com medo do meu marido", "pt"),
    ("j'ai besoin d'aide, il a une arme", "fr"),
    ("i need a shelter near fresno", "en"),
    ("my boyfriend hits me", "en"),
    ("he is going to kill me tonight", "en"),
    ("هو يضربني", "ar"),
    ("他打我", "zh"),
    ("助けてください", "ja"),
    ("도와주세요", "ko"),
    ("мне нужна помощь", "ru"),
])
def test_plain_words_or_a_script_name_the_language(text, expected):
    assert detect(text) == expected


@pytest.mark.parametrize("text", ["", "ok", "si", "no", "hola", "thanks", "Fresno", "93721", "help", "ayuda",
                                  "Boise, ID"])
def test_a_word_or_a_place_alone_names_no_language(text):
    assert detect(text) is None


def test_a_conversation_adds_up_its_short_messages():
    events = [{"event": "user", "text": "hola"}, {"event": "bot", "text": "Hi, this is an automated line."}]
    assert detect("hola") is None and detect("refugio") is None
    assert conversation_language(events) is None
    assert conversation_language(events, ["refugio"]) == "es"  # "hola" and "refugio" together are plain


def test_rasas_events_and_the_action_servers_are_read_alike():
    rasa_events = [UserUttered("tengo miedo"), UserUttered("el me pega")]
    sdk_events = [{"event": "user", "text": "tengo miedo"}, {"event": "user", "text": "el me pega"}]
    assert user_texts(rasa_events) == user_texts(sdk_events) == ["tengo miedo", "el me pega"]
    assert conversation_language(rasa_events) == conversation_language(sdk_events) == "es"


def test_the_latest_messages_decide_when_the_person_switches():
    events = [{"event": "user", "text": "necesito un refugio en Fresno"}] + \
        [{"event": "user", "text": "i need a shelter for me and my kids please"}] * language.RECENT_MESSAGES
    assert conversation_language(events) == "en"


def test_a_language_is_a_row_of_data():
    words = language.language_words()
    assert {"en", "es", "pt", "fr"} <= set(words)
    assert all(len(known) >= 40 for known in words.values())
    assert all(word == language._plain(word) for known in words.values() for word in known)  # stored plain
