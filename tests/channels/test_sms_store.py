"""What the SMS line keeps: handled MessageSids (across restarts), texters' random conversation
ids and their opt-outs."""
import datetime as dt

import pytest

from bot.channels import sms_store
from navigator import db


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path}/navigator.db"
    db.create_schema(db.make_engine(url))
    return url


def test_a_message_sid_is_handled_once_even_after_a_restart(database):
    assert sms_store.claim_message("SM123", db.make_engine(database)) is True
    assert sms_store.claim_message("SM123", db.make_engine(database)) is False  # a new process, same database
    assert sms_store.claim_message("SM124", db.make_engine(database)) is True


def test_the_sid_itself_is_not_stored(database):
    engine = db.make_engine(database)
    sms_store.claim_message("SMsecret-sid", engine)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM sms_handled_message").fetchall()
    assert "SMsecret-sid" not in str(rows)


def test_a_texter_keeps_one_random_conversation_id_that_is_not_their_number(database):
    engine = db.make_engine(database)
    first = sms_store.texter_for_phone("+15550104001", engine)
    again = sms_store.texter_for_phone("+15550104001", db.make_engine(database))
    other = sms_store.texter_for_phone("+15550104002", engine)
    assert first.conversation_id == again.conversation_id != other.conversation_id
    assert first.conversation_id.startswith("sms-") and "5550104001" not in first.conversation_id
    assert sms_store.texter_for_conversation(first.conversation_id, engine).phone == "+15550104001"
    assert sms_store.texter_for_conversation("rest-sender", engine) is None


def test_stop_and_start_are_remembered(database):
    engine = db.make_engine(database)
    texter = sms_store.texter_for_phone("+15550104003", engine)
    sms_store.set_opted_out(texter.conversation_id, True, engine)
    assert sms_store.texter_for_phone("+15550104003", engine).opted_out is True
    sms_store.set_opted_out(texter.conversation_id, False, engine)
    assert sms_store.texter_for_conversation(texter.conversation_id, engine).opted_out is False
