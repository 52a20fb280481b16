"""The Rasa sender ids that belong to a channel's own conversations, by prefix, in one place.

Why: a Rasa sender id is the conversation. A channel that lets its caller choose the id (the
REST channel) could otherwise name a conversation another channel owns: post into a texter's
SMS conversation (and make an advocate's reply, sent with `output_channel=latest`, go to the
caller instead of the phone), or into a web chat. So each channel that issues its own ids does
so under a prefix listed here, and the REST channel refuses any sender that starts with one of
them (case-insensitively: some tracker stores' collations fold case). A new channel that
issues ids adds its prefix here.
"""
from __future__ import annotations

from typing import Text

from bot.channels.sms.store import CONVERSATION_PREFIX as SMS_PREFIX

WEBCHAT_PREFIX = "web-"  # bot/channels/webchat/socket.py: "web-" + 22 random characters
WHATSAPP_PREFIXES = ("wa-", "whatsapp")  # reserved for the WhatsApp line (issue 20), whichever it uses
RESERVED_PREFIXES = (SMS_PREFIX, WEBCHAT_PREFIX, *WHATSAPP_PREFIXES)


def owned_by_a_channel(sender: Text) -> bool:
    """Is this id (or one that a case-folding store would take for it) another channel's?"""
    return sender.lower().startswith(RESERVED_PREFIXES)
