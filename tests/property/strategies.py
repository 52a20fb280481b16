"""What the property tests feed the parsers, and how long they may take.

Text as survivors and directory exports really send it can be anything: any Unicode (control
characters, right-to-left marks, emoji), numbers, long pastes, and near-misses built from the words
the parsers look for. `PARSERS` keeps each test to a few seconds and deterministic in CI (no example
database, derandomised), so a failure seen once is seen on every run until it is fixed.
"""
from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PARSERS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Words the place parsers react to: fillers, towns (clear, shared, everyday words), states,
# ZIP codes, punctuation.
PLACE_WORDS = [
    "in", "near", "i'm", "im", "at", "zip", "code", "is", "city", "of", "the", "county", "please", "now",
    "San", "Mateo", "san mateo", "Redwood City", "Springfield", "springfield", "Bellevue", "Omaha", "omha",
    "boise", "bosie", "Hope", "hope", "Mobile", "reading", "why", "St.", "st", "Louis", "ft", "worth",
    "Sioux Falls", "New York", "nyc", "LA", "la", "in LA", "Washington", "Georgia", "Idaho", "nebrska",
    "MO", "mo", "NE", "ne", "OR", "or", "ME", "me", "IN", "ID", "id", "CA", "DC",
    "94401", "68102", "00000", "99999", "68102-1234", "9440", "944011", "12345-", "-1234",
    ",", ", ", ".", "?", "!", "'", '"', "-", "/", "\n", "\t", "  ", "\u200f", "\u00a0", "Ω", "🏠",
]
# Directory cells: times, days, web addresses, ages, numbers, the garbling real exports have.
CELL_WORDS = [
    "9", "09", "9:00", "9:00am", "12", "12pm", "12:00 AM", "17:00:00", "24:00", "23:59", "0", "00:00Z",
    "+05:30", "-0800", "a.m.", "P.M.", "noon", "Mon", "Monday", "MO", "tu", "1MO", "-1FR", "thurs", "7", "0",
    "\u00b2", "\u0663", "\uff19", "WEEKLY", "DAILY", "24/7", "24 hours", "open", "closed", "by appointment",
    "http://", "https://", "www.", "x.org", "@", "mailto:", "//", "\\n", "GÇô", "â€™", "ΓÇô",
    "ages", "age", "under", "over", "and", "older", "to", "-", "+", "years", "18", "99", "120",
    "1e400", "nan", "inf", "-0", "1,5", "1_0", "NaN", "0x10", "", " ", ",", ";", "|", "\x00", "\r\n",
]


def near_misses(words: list[str], max_words: int = 8) -> st.SearchStrategy[str]:
    """Short messages made of the words a parser reacts to, joined with spaces or nothing."""
    return st.builds(lambda parts, sep: sep.join(parts), st.lists(st.sampled_from(words), max_size=max_words),
                     st.sampled_from([" ", "", ", "]))


def any_text(words: list[str], huge: int = 3000) -> st.SearchStrategy[str]:
    """Arbitrary text: any Unicode, numbers, near-misses of `words`, and long repetitions."""
    return st.one_of(
        st.text(),
        st.text(st.characters(max_codepoint=0x7f)),  # ASCII with its control characters
        st.integers().map(str),
        st.floats().map(str),
        near_misses(words),
        st.builds(lambda s, n: s * n, near_misses(words, 3).filter(bool), st.integers(50, huge)).map(
            lambda s: s[: huge * 4]),
    )
