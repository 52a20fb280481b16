"""The SMS line end to end: the running navigator gets webhooks signed exactly as Twilio signs
them (RequestValidator.compute_signature) and answers through the local stand-in for Twilio's
REST API (TWILIO_API_URL), as a texter would see it."""
from __future__ import annotations

import itertools
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Dict, List, Optional, Tuple
from urllib.parse import quote

import pytest
import yaml
from twilio.request_validator import RequestValidator

from bot.channels.sms import store as sms_store
from infra import db
from infra.config import ROOT
from tests.channels.twilio_standin import ACCOUNT_SID, AUTH_TOKEN, NAVIGATOR_NUMBER
from tests.helpers import WEBHOOK_URL, http, wait_until

pytestmark = pytest.mark.e2e
RESPONSES = {name: variations[0].get("text") for name, variations in
             yaml.safe_load((ROOT / "domain.yml").read_text())["responses"].items()}
QUIET_S = 4  # how long "nothing was sent" is watched for
_numbers = itertools.count(1)


def new_phone() -> str:
    """A fictional number (555-01xx is reserved for fiction), new for each test."""
    return f"+1555017{next(_numbers):04d}"


def webhook(stack, params: Dict[str, str], signature: Optional[str]) -> Tuple[int, str, float]:
    """POST the form as Twilio does; answers (status, body, seconds taken)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    request = urllib.request.Request(stack.rasa + "/webhooks/twilio/webhook", method="POST", headers=headers,
                                     data=urllib.parse.urlencode(params).encode())
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), time.monotonic() - started


def sms_form(phone: str, body: str, sid: Optional[str] = None, **extra: str) -> Dict[str, str]:
    return {"MessageSid": sid or f"SM{uuid.uuid4().hex}", "SmsSid": sid or "", "AccountSid": ACCOUNT_SID,
            "From": phone, "To": NAVIGATOR_NUMBER, "Body": body, "NumMedia": "0", "NumSegments": "1",
            "FromCity": "BOISE", "FromState": "ID", "ApiVersion": "2010-04-01", **extra}


def text(stack, phone: str, body: str, sid: Optional[str] = None, **extra: str) -> Tuple[int, str, float]:
    """A text from `phone`, signed with the account's auth token for the public webhook URL."""
    params = sms_form(phone, body, sid, **extra)
    return webhook(stack, params, RequestValidator(AUTH_TOKEN).compute_signature(WEBHOOK_URL, params))


def replies(twilio, phone: str, count: int, timeout: float = 30) -> List[str]:
    assert wait_until(lambda: len(twilio.to(phone)) >= count, timeout, interval=0.2), \
        f"expected {count} SMS, got {[s.body for s in twilio.to(phone)]}"
    return [sms.body for sms in twilio.to(phone)]


def nothing_more_sent(twilio, phone: str, count: int) -> bool:
    time.sleep(QUIET_S)
    return len(twilio.to(phone)) == count


def conversation_of(stack, phone: str) -> str:
    return sms_store.texter_for_phone(phone, db.make_engine(stack.env["DATABASE_URL"])).conversation_id


def opted_out(stack, phone: str) -> bool:
    return sms_store.texter_for_phone(phone, db.make_engine(stack.env["DATABASE_URL"])).opted_out


def rasa_api(stack, method: str, path: str, body=None):
    return http(method, f"{stack.rasa}{path}", body, headers=stack.rasa_api_headers())


def tracker(stack, conversation_id: str) -> dict:
    status, state = rasa_api(stack, "GET", f"/conversations/{quote(conversation_id)}/tracker")
    assert status == 200, state
    return state


def advocate_says(stack, conversation_id: str, words: str) -> None:
    status, state = rasa_api(stack, "POST", f"/conversations/{quote(conversation_id)}/tracker/events"
                             "?output_channel=latest&execute_side_effects=true", {"event": "bot", "text": words})
    assert status == 200, state


def test_a_signed_text_asking_for_a_shelter_in_boise_gets_the_nearest_shelters_by_sms(channel_stack, twilio):
    phone = new_phone()
    status, body, seconds = text(channel_stack, phone, "I need a shelter in Boise")
    assert status == 200 and seconds < 1.0
    assert "<Response" in body and "<Message" not in body  # the answer goes through the REST API
    (reply,) = replies(twilio, phone, 1)
    assert "Foothills Quiet House" in reply and "(555) 0100-1000" in reply
    assert "Old Boise Shelter" not in reply  # inactive
    assert reply.index("Foothills Quiet House") < reply.index("Table Rock Family Shelter")
    assert "automated" in reply  # said once, in the first reply


@pytest.mark.parametrize("how", ["unsigned", "forged", "tampered", "other_url"])
def test_a_request_twilio_did_not_sign_is_refused_and_nothing_is_sent(channel_stack, twilio, how):
    phone = new_phone()
    params = sms_form(phone, "I need a shelter in Boise")
    signature = {
        "unsigned": None,
        "forged": RequestValidator("not-the-auth-token").compute_signature(WEBHOOK_URL, params),
        "tampered": RequestValidator(AUTH_TOKEN).compute_signature(WEBHOOK_URL, {**params, "Body": "hi"}),
        "other_url": RequestValidator(AUTH_TOKEN).compute_signature(channel_stack.rasa + "/webhooks/twilio/webhook",
                                                                    params),
    }[how]
    status, _body, _seconds = webhook(channel_stack, params, signature)
    assert status == 403
    assert nothing_more_sent(twilio, phone, 0)
    # ...and it was not handled: the same MessageSid, signed, is new to the line
    assert text(channel_stack, phone, "hi", sid=params["MessageSid"])[0] == 200
    replies(twilio, phone, 1)


def test_a_retried_message_sid_is_answered_and_not_handled_again(channel_stack, twilio):
    phone, sid = new_phone(), f"SM{uuid.uuid4().hex}"
    assert text(channel_stack, phone, "I need legal help in Omaha, NE", sid=sid)[0] == 200
    replies(twilio, phone, 1)
    status, body, seconds = text(channel_stack, phone, "I need legal help in Omaha, NE", sid=sid)
    assert status == 200 and "<Response" in body and seconds < 1.0
    assert nothing_more_sent(twilio, phone, 1)


def test_a_picture_without_words_gets_a_kind_answer(channel_stack, twilio):
    phone = new_phone()
    status, _body, _seconds = text(channel_stack, phone, "", NumMedia="1", MediaContentType0="image/jpeg",
                                   MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")
    assert status == 200
    assert replies(twilio, phone, 1) == [RESPONSES["utter_sms_picture_only"]]


def test_after_stop_nothing_is_sent_until_start(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "I need a shelter in Boise")
    replies(twilio, phone, 1)
    conversation = conversation_of(channel_stack, phone)
    assert text(channel_stack, phone, "STOP")[0] == 200
    text(channel_stack, phone, "I need legal help in Omaha, NE")
    # Texts are handled after the webhook answers: the advocate speaks once STOP is on record.
    assert wait_until(lambda: opted_out(channel_stack, phone), 10, interval=0.2)
    advocate_says(channel_stack, conversation, "Hi, this is an advocate. Are you safe to text?")
    assert nothing_more_sent(twilio, phone, 1)  # Twilio confirms STOP itself; then silence
    text(channel_stack, phone, "start")
    assert nothing_more_sent(twilio, phone, 1)  # Twilio confirms START itself
    text(channel_stack, phone, "I need legal help in Omaha, NE")
    assert "Old Market Survivor Law" in replies(twilio, phone, 2)[-1]


def test_advanced_opt_out_stop_is_honoured_whatever_the_words(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "arret", OptOutType="STOP")
    text(channel_stack, phone, "I need a shelter in Boise")
    assert nothing_more_sent(twilio, phone, 0)


def test_help_says_what_the_line_is_and_how_to_stop_and_is_answered_as_a_message(channel_stack, twilio):
    """HELP is one of the commonest first texts to a crisis line: the carriers' reply first, then
    the same word answered as any message, danger check included (the emergency detector reads a
    bare "help" as a cry for help: 911, and a person is asked)."""
    phone = new_phone()
    text(channel_stack, phone, "help")
    required, answer = replies(twilio, phone, 2)
    assert required == RESPONSES["utter_sms_help"] and "STOP" in required and "911" in required
    assert "911" in answer and "I've asked a human advocate" in answer
    state = tracker(channel_stack, conversation_of(channel_stack, phone))
    assert state["latest_message"]["text"] == "help" and state["latest_message"]["intent"]["name"] == "emergency"


def test_the_first_text_on_a_lock_screen_starts_with_neutral_words(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "i need a shelter in boise")
    (reply,) = replies(twilio, phone, 1)
    assert reply.startswith(RESPONSES["utter_sms_first_words"])
    preview = reply[:110].lower()  # about what a locked phone shows
    assert not any(word in preview for word in ("police", "shelter", "abuse", "violence", "911", "danger"))
    assert "Foothills Quiet House" in reply  # and the answer is in the same text


def test_exit_sends_a_neutral_reply_and_ends_the_conversation(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "I need a shelter")  # the bot asks where
    replies(twilio, phone, 1)
    conversation = conversation_of(channel_stack, phone)
    assert tracker(channel_stack, conversation)["slots"]["service_kind"] == "shelter"
    text(channel_stack, phone, "EXIT")
    assert replies(twilio, phone, 2)[-1] == RESPONSES["utter_restart"]
    state = tracker(channel_stack, conversation)
    assert state["slots"]["service_kind"] is None and state["latest_message"].get("text") in (None, "")


def test_slash_restart_is_read_as_words_and_cannot_unpause_an_advocates_conversation(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "I want to talk to a person")
    replies(twilio, phone, 1)
    conversation = conversation_of(channel_stack, phone)
    assert rasa_api(channel_stack, "POST", f"/conversations/{conversation}/tracker/events",
                    {"event": "pause"})[0] == 200  # an advocate takes the conversation
    text(channel_stack, phone, "/restart")
    assert wait_until(lambda: tracker(channel_stack, conversation)["latest_message"].get("text") == "restart", 15)
    state = tracker(channel_stack, conversation)
    assert state["paused"] is True
    assert state["latest_message"]["intent"].get("name") != "restart"
    assert nothing_more_sent(twilio, phone, 1)  # the advocate answers now, not the bot


def test_options_are_numbered_and_a_number_picks_one(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "hi")
    (greeting,) = replies(twilio, phone, 1)
    assert "Reply 1 for Shelter" in greeting and "Reply 4 for Legal help" in greeting
    text(channel_stack, phone, "1")
    assert RESPONSES["utter_ask_place"] in replies(twilio, phone, 2)[-1]  # asks where: shelter was chosen
    assert tracker(channel_stack, conversation_of(channel_stack, phone))["slots"]["service_kind"] == "shelter"
    text(channel_stack, phone, "Boise")
    assert "Foothills Quiet House" in replies(twilio, phone, 3)[-1]


def test_an_advocates_long_reply_arrives_in_messages_of_at_most_1600_characters(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "I want to talk to a person")
    replies(twilio, phone, 1)
    paragraph = "Here is what we can do together. " * 20
    long_reply = "\n\n".join(f"Step {n}. {paragraph.strip()}" for n in range(1, 9))
    assert len(long_reply) > 3 * 1600
    advocate_says(channel_stack, conversation_of(channel_stack, phone), long_reply)
    sent = replies(twilio, phone, 5)[1:]
    assert wait_until(lambda: "\n\n".join(s.body for s in twilio.to(phone)[1:]) == long_reply, 10)
    assert all(len(body) <= 1600 for body in sent)
    assert all(body.startswith("Step ") for body in sent)  # cut between paragraphs


def test_replies_get_through_when_twilio_asks_to_slow_down(channel_stack, twilio):
    phone = new_phone()
    twilio.fail_next(429, 503)
    text(channel_stack, phone, "I need legal help in Omaha, NE")
    assert "Old Market Survivor Law" in replies(twilio, phone, 1)[0]


def test_logs_hold_no_phone_number_and_no_message_text(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "i need a shelter near 68102 codeword-sms")
    replies(twilio, phone, 1)
    log = channel_stack.log.read_text(errors="replace")
    assert "codeword" not in log and phone not in log and phone[2:] not in log


def stored_rows(stack, conversation_id: str) -> Dict[str, int]:
    """How many rows of each store still name the conversation."""
    counts = {}
    for url, table, column in ((stack.env["TRACKER_STORE_URL"], "events", "sender_id"),
                               (stack.env["DATABASE_URL"], "handoff", "conversation_id"),
                               (stack.env["DATABASE_URL"], "sms_contact", "conversation_id"),
                               (stack.env["DATABASE_URL"], "sms_outbox", "conversation_id"),
                               (stack.env["DATABASE_URL"], "sms_twilio_message", "conversation_id")):
        with db.make_engine(url).connect() as connection:
            counts[table] = connection.exec_driver_sql(
                f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (conversation_id,)).scalar()
    return counts


def test_delete_then_yes_erases_the_conversation_and_the_number_here_and_at_twilio(channel_stack, twilio):
    phone, texts = new_phone(), [f"SM{uuid.uuid4().hex}" for _ in range(3)]
    text(channel_stack, phone, "I want to talk to a person", sid=texts[0])  # a handoff for an advocate
    replies(twilio, phone, 1)
    conversation = conversation_of(channel_stack, phone)
    assert wait_until(lambda: stored_rows(channel_stack, conversation)["handoff"] == 1, 10)
    text(channel_stack, phone, "Delete", sid=texts[1])
    assert replies(twilio, phone, 2)[-1] == RESPONSES["utter_sms_delete_confirm"]
    text(channel_stack, phone, "YES", sid=texts[2])
    assert replies(twilio, phone, 3)[-1] == RESPONSES["utter_sms_deleted"]
    assert wait_until(lambda: not any(stored_rows(channel_stack, conversation).values()), 10), \
        stored_rows(channel_stack, conversation)
    # Twilio's copies (its message log holds each text and number) are deleted too: the texter's
    # three texts and the line's three replies, the last one included.
    ours = set(texts) | {sms.sid for sms in twilio.to(phone)}
    assert len(ours) == 6
    assert wait_until(lambda: ours <= set(twilio.deleted), 20), ours - set(twilio.deleted)
    text(channel_stack, phone, "hi")  # the line does not know them any more: a new conversation
    replies(twilio, phone, 4)
    assert conversation_of(channel_stack, phone) != conversation


def test_anything_but_yes_keeps_the_conversation_and_is_answered(channel_stack, twilio):
    phone = new_phone()
    text(channel_stack, phone, "I need a shelter in Boise")
    replies(twilio, phone, 1)
    conversation = conversation_of(channel_stack, phone)
    text(channel_stack, phone, "DELETE")
    assert replies(twilio, phone, 2)[-1] == RESPONSES["utter_sms_delete_confirm"]
    text(channel_stack, phone, "I need legal help in Omaha, NE")
    assert "Old Market Survivor Law" in replies(twilio, phone, 3)[-1]
    text(channel_stack, phone, "yes")  # no DELETE pending now: just a word to the assistant
    assert replies(twilio, phone, 4)[-1] != RESPONSES["utter_sms_deleted"]
    assert conversation_of(channel_stack, phone) == conversation
    assert stored_rows(channel_stack, conversation)["events"] > 0


def test_a_reply_waits_out_a_twilio_outage_and_then_arrives(channel_stack, twilio):
    phone = new_phone()
    twilio.fail_next(*[503] * 5)  # every quick retry of the reply fails: Twilio is down
    text(channel_stack, phone, "I need legal help in Omaha, NE")
    assert nothing_more_sent(twilio, phone, 0)
    assert wait_until(lambda: stored_rows(channel_stack, conversation_of(channel_stack, phone))["sms_outbox"] == 1, 15)
    assert "Old Market Survivor Law" in replies(twilio, phone, 1, timeout=40)[0]  # the outbox's retry, 15 s on
    assert stored_rows(channel_stack, conversation_of(channel_stack, phone))["sms_outbox"] == 0
