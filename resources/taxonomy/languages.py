"""Languages as directories write them ("Spanish (limited)", "English and Spanish", "Creole", "en, es")
turned into ISO codes, so a person can ask for help in their language and the search can match it.

The names are data (`data/languages.csv`: ISO 639-1 code where there is one, else 639-2/3; the
display name; other names; other codes). The original text is always kept by the caller (as the
language row's note) because it often says more than the code ("limited", "by appointment").
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LANGUAGES_PATH = Path(__file__).resolve().parent / "data" / "languages.csv"


@dataclass(frozen=True)
class LanguageName:
    code: str
    name: str  # display name, e.g. "Haitian Creole"


@dataclass(frozen=True)
class FoundLanguage:
    code: str | None  # None when the text names no language we know ("interpreters available")
    name: str


class LanguageTable:
    """Lookups over data/languages.csv: by name (any spelling listed) and by code."""

    def __init__(self, rows: list[dict]):
        self.by_code: dict[str, LanguageName] = {}
        self.by_name: dict[str, LanguageName] = {}
        for row in rows:
            lang = LanguageName(row["code"].strip(), row["name"].strip())
            self.by_code[lang.code] = lang
            for other in filter(None, (c.strip() for c in (row.get("other_codes") or "").split("|"))):
                self.by_code.setdefault(other, lang)
            for name in [lang.name, *(row.get("other_names") or "").split("|")]:
                if name.strip():
                    self.by_name[_key(name)] = lang
        names = sorted(self.by_name, key=len, reverse=True)  # longest first: "haitian creole" before "creole"
        self.pattern = re.compile(r"(?<![\w'])(" + "|".join(re.escape(n) for n in names) + r")(?![\w'])")

    @classmethod
    def load(cls, path: Path = LANGUAGES_PATH) -> "LanguageTable":
        with open(path, newline="", encoding="utf-8") as f:
            return cls(list(csv.DictReader(f)))

    def lookup(self, text: str | None) -> LanguageName | None:
        """A language given as a code ("es", "spa") or a name ("Spanish", "español")."""
        if not text:
            return None
        key = _key(text)
        return self.by_code.get(key) or self.by_name.get(key)

    def find_all(self, text: str) -> list[LanguageName]:
        """Every language named in free text, in order, each once."""
        found: dict[str, LanguageName] = {}
        for match in self.pattern.finditer(_key(text)):
            lang = self.by_name[match.group(1)]
            found.setdefault(lang.code, lang)
        return list(found.values())


def _key(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


@lru_cache(maxsize=1)
def language_table() -> LanguageTable:
    return LanguageTable.load()


def language_code(text: str | None) -> str | None:
    """"Spanish", "es", "spa", "Español" -> "es"; None when unknown."""
    lang = language_table().lookup(text)
    return lang.code if lang else None


def parse_languages(text: str | None) -> list[FoundLanguage]:
    """The languages a free-text cell names; a cell that names none is kept whole as one entry.

    "English and Spanish" -> en, es; "Spanish (limited)" -> es; "other languages available upon
    request" -> one entry without a code (it still tells the person interpretation exists).
    """
    text = " ".join((text or "").split()).strip(" ,;.*")
    if not text:
        return []
    table = language_table()
    whole = table.lookup(text)
    if whole:
        return [FoundLanguage(whole.code, whole.name)]
    found = table.find_all(text)
    if found:
        return [FoundLanguage(lang.code, lang.name) for lang in found]
    return [FoundLanguage(None, text)]


def parse_language_codes(text: str | None) -> list[FoundLanguage]:
    """A comma-separated list of codes or names ("en, es", as HSDS 1.x/2.0 phones have it)."""
    out: dict[str, FoundLanguage] = {}
    for part in re.split(r"[,;/|]+", text or ""):
        lang = language_table().lookup(part.strip())
        if lang:
            out.setdefault(lang.code, FoundLanguage(lang.code, lang.name))
    return list(out.values())
