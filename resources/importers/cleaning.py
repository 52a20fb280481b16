"""Small value clean-ups that real directory exports need, shared by the readers and the writer:
times like "9:00am", web addresses without "https://", literal "\\n" in prose, and the punctuation
garbled by a wrong code page in some 211 exports.
"""
from __future__ import annotations

import re

from resources.search.hours import parse_time

# UTF-8 punctuation (E2 80 xx) read as code page 437, with the Greek Gamma then flattened to "G": seen
# in 211 exports (e.g. "8:30amGÇô3:00pm"). Only these unambiguous sequences are repaired.
_MOJIBAKE = {
    "GÇÖ": "'", "GÇÿ": "'", "GÇ£": '"', "GÇ¥": '"', "GÇô": "-", "GÇö": "-", "GÇæ": "-",
    "GÇª": "...", "GÇï": "", "ΓÇÖ": "'", "ΓÇÿ": "'", "ΓÇ£": '"', "ΓÇ¥": '"', "ΓÇô": "-", "ΓÇö": "-",
    "â€™": "'", "â€˜": "'", "â€œ": '"', "â€\x9d": '"', "â€“": "-", "â€”": "-",
}
_MOJIBAKE_RE = re.compile("|".join(re.escape(k) for k in sorted(_MOJIBAKE, key=len, reverse=True)))
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?::\d{1,5})?(?:[/?#]\S*)?$", re.I)


def fix_prose(text: str | None) -> str | None:
    """Literal backslash-n turned into line breaks, garbled punctuation repaired, ends trimmed."""
    if not text:
        return text
    if "\\n" in text or "\\r" in text:
        text = text.replace("\\r\\n", "\n").replace("\\n", "\n").replace("\\r", "\n")
    if "G\u00c7" in text or "\u0393\u00c7" in text or "\u00e2\u20ac" in text:
        text = _MOJIBAKE_RE.sub(lambda m: _MOJIBAKE[m.group(0)], text)
    return text.strip() or None


def normalise_url(text: str | None) -> tuple[str | None, str | None]:
    """(url, problem): "www.x.org" -> "https://www.x.org"; an email or prose is no web address.

    https, not http: a survivor's network may be watched, and browsers upgrade a bare address anyway.
    """
    if not text:
        return None, None
    url = text.strip().strip("<>\"'").replace("\\", "/")
    if re.match(r"^https?://\S+$", url, re.I):
        return re.sub(r"(?<!:)//+", "/", url), None
    if re.match(r"^https?(?::/*|//)", url, re.I):  # "http:/x.org", "https//x.org"
        url = re.sub(r"^https?:?/*", "", url, flags=re.I)
    if "@" in url.split("/")[0]:
        return None, f"{text!r} is an email address, not a web address"
    if _DOMAIN.match(url):
        return "https://" + re.sub(r"//+", "/", url), None
    return None, f"{text!r} is not a web address"


def normalise_time(text: str | None) -> str | None:
    """"9:00am" -> "09:00", "4:00 PM" -> "16:00", "17:00:00" -> "17:00"; None when it is no time."""
    parsed = parse_time(text)
    if parsed is None:
        return None
    hour, minute = parsed
    return f"{hour:02d}:{minute:02d}"


_AGE_RANGE = re.compile(r"\bages?\s*(\d{1,2})\s*(?:-|\u2013|to|through|thru)\s*(\d{1,3})\b"
                        r"|\b(\d{1,2})\s*(?:-|\u2013|to)\s*(\d{1,3})\s*(?:years?|yrs?)\b", re.I)
_AGE_MIN = re.compile(r"\b(?:ages?\s*)?(\d{1,2})\s*(?:years?\s*(?:old|of\s+age)?\s*)?(?:and|or|&)\s*"
                      r"(?:older|over|up|above)\b|\bover\s+(?:the\s+)?age\s+(?:of\s+)?(\d{1,2})\b|\bolder\s+than\s+(\d{1,2})\b"
                      r"|\bages?\s*(\d{1,2})\s*\+|\b(\d{1,2})\s*\+\s*(?:years|yrs)\b", re.I)
_AGE_MAX = re.compile(r"\b(?:under|younger\s+than|below)\s+(?:the\s+)?(?:age\s+(?:of\s+)?)?(\d{1,2})\b", re.I)


def age_range(text: str | None) -> tuple[int | None, int | None] | None:
    """The most inclusive age range an eligibility text states, or None when it states none.

    "Age 55 or over" -> (55, None); "ages 12-17" -> (12, 17); "under 18" -> (None, 17). Several
    statements ("55 or over for most programs, 60 or over for lunch") give the widest range.
    """
    if not text:
        return None
    ranges: list[tuple[int | None, int | None]] = []
    for m in _AGE_RANGE.finditer(text):
        lo, hi = (int(m.group(1)), int(m.group(2))) if m.group(1) else (int(m.group(3)), int(m.group(4)))
        if lo <= hi <= 120:
            ranges.append((lo, hi))
    for m in _AGE_MIN.finditer(text):
        value = next(int(g) for g in m.groups() if g)
        ranges.append((value, None))
    for m in _AGE_MAX.finditer(text):
        ranges.append((None, int(m.group(1)) - 1))
    if not ranges:
        return None
    lows = [lo for lo, _ in ranges]
    highs = [hi for _, hi in ranges]
    return (None if None in lows else min(lows)), (None if None in highs else max(highs))
