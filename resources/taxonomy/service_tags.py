"""Tags: what else a survivor may need to know about a service, beyond its KIND, each with its reason.

Two families, both searchable (`search_services(..., tags=...)`):
- focus: who the service is for: `domestic_violence`, `trafficking`, `sexual_assault`, `crisis`
  (crisis lines), `crime_victims`, ... These come from the taxonomy crosswalk's categories
  (`kind_map.csv`), from `tag_map.csv`, and from phrases in the service's own words;
- survivor-relevant facts: `takes_children`, `takes_pets`, `serves_men`, `lgbtq_friendly`,
  `no_ice_contact`, `t_u_visa_help`, `free_or_sliding_scale`. HSDS has no fields for these: they come
  from target-population taxonomy terms (AIRS Y codes, Open Eligibility situations; `tag_map.csv`) and
  from phrases in the name, description, eligibility and fees (`tag_keywords.csv`).
A tag is a claim the directory's own data makes; absence means "not stated", never "no".
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from resources.taxonomy.matching import PhraseRule, code_parts, name_key, normalise_text

DATA_DIR = Path(__file__).resolve().parent / "data"
TAG_MAP_PATH = DATA_DIR / "tag_map.csv"
TAG_KEYWORDS_PATH = DATA_DIR / "tag_keywords.csv"

# The survivor-relevant facts, as the search and its callers name them, with what each means.
ATTRIBUTE_TAGS = {
    "takes_children": "takes children, or families with children",
    "takes_pets": "takes pets",
    "serves_men": "serves men",
    "lgbtq_friendly": "serves LGBTQ+ people",
    "no_ice_contact": "serves undocumented people (the data's sign that it does not involve immigration enforcement)",
    "t_u_visa_help": "helps with T or U visas and other immigration relief for victims",
    "free_or_sliding_scale": "free, or fees on a sliding scale",
}
FOCUS_TAGS = {
    "domestic_violence": "for people experiencing domestic or dating violence",
    "trafficking": "for survivors of human trafficking",
    "sexual_assault": "for survivors of sexual assault or abuse",
    "crisis": "a crisis line or crisis service",
    "crime_victims": "for victims of crime",
    "language_access": "interpretation and translation",
}
TEXT_FIELDS = ("text", "fees")  # tag_keywords.csv `field`: the service's words, or its fees only


@dataclass(frozen=True)
class TagEntry:
    scheme: str
    code: str
    name: str
    tag: str


class TagMap:
    """Taxonomy terms -> tags: AIRS codes with their descendants, Open Eligibility by id, any by name."""

    def __init__(self, entries: Iterable[TagEntry]):
        self.airs: dict[tuple[str, ...], list[TagEntry]] = {}
        self.open_eligibility: dict[str, list[TagEntry]] = {}
        self.by_name: dict[str, list[TagEntry]] = {}
        for e in entries:
            if e.scheme == "airs":
                self.airs.setdefault(code_parts(e.code), []).append(e)
            else:
                self.open_eligibility.setdefault(e.code, []).append(e)
            self.by_name.setdefault(name_key(e.name), []).append(e)

    @classmethod
    def load(cls, path: Path = TAG_MAP_PATH) -> "TagMap":
        with open(path, newline="", encoding="utf-8") as f:
            return cls(TagEntry(r["scheme"].strip(), r["code"].strip(), r["name"].strip(), r["tag"].strip())
                       for r in csv.DictReader(f))

    def tags_for(self, code: str | None, name: str | None, scheme: str | None) -> dict[str, str]:
        """tag -> reason for one term."""
        found: dict[str, str] = {}
        label = " ".join(p for p in (code, name) if p)
        if code and scheme == "airs":
            parts = code_parts(code)
            for n in range(len(parts), 0, -1):
                for e in self.airs.get(parts[:n], ()):
                    within = "" if n == len(parts) else f" (within {e.code} {e.name})"
                    found.setdefault(e.tag, f"taxonomy {label}{within}")
        elif code and scheme == "open_eligibility":
            for e in self.open_eligibility.get(code.strip(), ()):
                found.setdefault(e.tag, f"taxonomy {label}")
        if not found and name:
            for e in self.by_name.get(name_key(name), ()):
                found.setdefault(e.tag, f"taxonomy {label} (named as {e.scheme} {e.code} {e.name})")
        return found


@lru_cache(maxsize=1)
def tag_map() -> TagMap:
    return TagMap.load()


def load_tag_keywords(path: Path = TAG_KEYWORDS_PATH) -> dict[tuple[str, str], PhraseRule]:
    """(tag, field) -> rule, from tag_keywords.csv (see resources/taxonomy/data/README.md)."""
    rules: dict[tuple[str, str], PhraseRule] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            tag, phrase = row["tag"].strip(), row["phrase"].strip()
            effect, where = row["effect"].strip(), (row.get("field") or "text").strip()
            if not tag or not phrase or effect not in ("match", "exclude") or where not in TEXT_FIELDS:
                raise ValueError(f"{path}: bad tag keyword row {row}")
            rule = rules.setdefault((tag, where), PhraseRule(tag))
            (rule.excludes if effect == "exclude" else rule.matches).append(phrase)
    return {key: rule.compile() for key, rule in rules.items()}


@lru_cache(maxsize=1)
def tag_keywords() -> dict[tuple[str, str], PhraseRule]:
    return load_tag_keywords()


def text_tags(text: str, fees: str | None = None) -> dict[str, str]:
    """tag -> reason from phrases in a service's words (`text`) and its fees description."""
    normalised = {"text": normalise_text(text or ""), "fees": normalise_text(fees or "")}
    found: dict[str, str] = {}
    for (tag, where), rule in tag_keywords().items():
        if tag in found or not normalised[where]:
            continue
        phrase = rule.find(normalised[where])
        if phrase:
            found[tag] = f"keyword '{phrase}' in {'fees' if where == 'fees' else 'name/description'}"
    return found
