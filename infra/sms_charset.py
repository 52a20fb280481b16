"""The GSM-7 alphabet, and an SMS body's length as Twilio counts it. GSM-7 holds the characters an SMS carries at 160 to a segment. One character outside
it (a curly quote, an emoji, an accented capital) turns the whole text into UCS-2, at 70 a
segment: the same words then cost two or three texts, each one more notification on a phone that
someone else may see. So every word the assistant texts, and every text an agency configures,
keeps to it (bot/response_rules.py, infra.config).
"""
from __future__ import annotations

SMS_MAX_CHARS = 1600  # Twilio refuses a longer body

# GSM 03.38 basic character set, then its extension table (each of those costs two places).
BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
         "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
EXTENSION = "^{}\\[~]|€\f"
GSM7 = frozenset(BASIC + EXTENSION)


def outside_gsm7(text: str) -> str:
    """The characters of `text` an SMS cannot carry as GSM-7, once each, in order."""
    seen: list[str] = []
    for char in text:
        if char not in GSM7 and char not in seen:
            seen.append(char)
    return "".join(seen)


def sms_length(text: str) -> int:
    """Length as Twilio counts it for a Unicode body: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2
