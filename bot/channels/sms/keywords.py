"""What a text asks of the SMS line before the assistant reads it: Twilio's opt-out keywords
(STOP, START, HELP), EXIT, DELETE and the YES that confirms it, a picture without words.

A keyword is a whole message in any case ("Stop." is STOP; "stop texting me" is words to answer),
so a person's sentence is never taken for a command.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Optional, Text

from bot.channels.sms import store as sms_store

# Twilio's Advanced Opt-Out keywords (a whole message, any case). The opt-in words only opt back
# in a person who opted out; from anyone else they are words the assistant answers ("yes").
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
EXIT_WORDS = frozenset({"EXIT"})
# DELETE asks to erase the conversation from the line's records; only YES, soon after, confirms.
DELETE_WORDS = frozenset({"DELETE"})
CONFIRM_WORDS = frozenset({"YES"})

DELETE_CONFIRM_WINDOW = dt.timedelta(minutes=10)  # how long a YES confirms a DELETE


def keyword(text: Optional[Text]) -> Text:
    """A short message as a keyword: "Stop." -> "STOP"; anything longer than a word -> ""."""
    text = (text or "").strip()
    if len(text) > 16 or " " in text:
        return ""
    return re.sub(r"[^A-Z]", "", text.upper())


@dataclass(frozen=True)
class IncomingSms:
    """The fields of Twilio's webhook the line uses."""

    phone: Text
    body: Text
    media_count: int
    opt_out_type: Text  # Advanced Opt-Out's OptOutType: STOP, START, HELP, or ""
    message_sid: Text = ""

    @classmethod
    def from_form(cls, form: Any) -> "IncomingSms":
        try:
            media_count = int(form.get("NumMedia") or 0)
        except ValueError:
            media_count = 0
        return cls(form.get("From") or "", form.get("Body") or "", media_count,
                   (form.get("OptOutType") or "").upper(), form.get("MessageSid") or form.get("SmsSid") or "")


def what_to_do(sms: IncomingSms, opted_out: bool, delete_pending: bool = False) -> Text:
    """What a text asks of the line: "stop", "start", "ignore" (opted out), "erase" (YES to a
    pending DELETE), "help", "exit", "delete", "picture" (no words), "nothing" (empty) or "turn"
    (the assistant answers it)."""
    word = keyword(sms.body)
    if sms.opt_out_type == "STOP" or word in STOP_WORDS:
        return "stop"
    if sms.opt_out_type == "START" or (opted_out and word in START_WORDS):
        return "start"
    if opted_out:
        return "ignore"
    if delete_pending and word in CONFIRM_WORDS:
        return "erase"
    if sms.opt_out_type == "HELP" or word in HELP_WORDS:
        return "help"
    if word in EXIT_WORDS:
        return "exit"
    if word in DELETE_WORDS:
        return "delete"
    if not sms.body.strip():
        return "picture" if sms.media_count else "nothing"
    return "turn"


def delete_pending(texter: sms_store.Texter, now: Optional[dt.datetime] = None) -> bool:
    """True while a YES from this texter confirms their DELETE (sent less than 10 minutes ago)."""
    requested = texter.delete_requested_at
    return requested is not None and (now or sms_store.utcnow()) - requested <= DELETE_CONFIRM_WINDOW
