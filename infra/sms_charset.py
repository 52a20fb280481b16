"""The GSM-7 alphabet: the characters an SMS carries at 160 to a segment. One character outside
it (a curly quote, an emoji, an accented capital) turns the whole text into UCS-2, at 70 a
segment: the same words then cost two or three texts, each one more notification on a phone that
someone else may see. So every word the assistant texts, and every text an agency configures,
keeps to it (bot/response_rules.py, infra.config).
"""
from __future__ import annotations

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
