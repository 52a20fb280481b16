"""Which of the navigator's four KINDS of help a service gives, derived from its taxonomy tags, or
from words in its name and description when it has none, with the reason kept for each decision.

The rules are data in `resources/taxonomy/data/`: `kind_map.csv` (derived from the project's taxonomy
crosswalk: AIRS/211 codes and Open Eligibility ids -> category -> KIND) and `kind_keywords.csv`.
Categories that are not KINDS (domestic_violence, trafficking, ...) are kept as tags, with the other
tags of `resources.taxonomy.service_tags` (takes_pets, no_ice_contact, ...); a DV or trafficking shelter is
tagged `confidential_location`, so its address is never shown.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import delete, insert, select

from resources.models import (
    Attribute,
    Organization,
    Service,
    ServiceAtLocation,
    ServiceKind,
    ServiceTag,
    Taxonomy,
    TaxonomyTerm,
)
from resources.taxonomy import service_tags
from resources.taxonomy.matching import PhraseRule, normalise_text
from resources.taxonomy.matching import code_parts as _code_parts
from resources.taxonomy.matching import name_key as _name_key

KINDS = ("shelter", "mental_health", "substance_use", "legal")
DATA_DIR = Path(__file__).resolve().parent / "data"
KIND_MAP_PATH = DATA_DIR / "kind_map.csv"
KEYWORDS_PATH = DATA_DIR / "kind_keywords.csv"

# How the crosswalk's categories become KINDS (`derive_kind_map`); the rest stay tags only.
CATEGORY_KINDS = {
    "shelter_emergency": "shelter",
    "shelter_dv": "shelter",
    "shelter_trafficking": "shelter",
    "shelter_youth_immigrant": "shelter",
    "mental_health": "mental_health",
    "crisis": "mental_health",
    "substance_use": "substance_use",
    "legal": "legal",
}
CONFIDENTIAL_TAG = "confidential_location"
# Shelters for people escaping abusers or traffickers keep their address secret: a shelter tagged as
# one of these (by taxonomy or by its own words) is confidential.
CONFIDENTIAL_SHELTER_TAGS = ("shelter_dv", "shelter_trafficking", "domestic_violence", "trafficking")
CONFIDENTIAL_WORDS = re.compile(r"\b(confidential|undisclosed)\b", re.I)
KEYWORD_TAXONOMIES = ("keywords",)  # free-text tags (Ohana `keywords`): read like the service's own words

AIRS_CODE = re.compile(r"^[A-Z]{1,2}(-\d{4}(\.\d{4}(-\d{3}(\.\d{2,3})?)?)?)?$")
_CHUNK = 500


class UnknownKindError(ValueError):
    """The text names none of the navigator's KINDS."""


def normalize_kind(text: str | None) -> str:
    """"mental health", "Mental-Health" -> "mental_health"; anything else raises UnknownKindError."""
    kind = re.sub(r"[\s\-]+", "_", (text or "").strip().lower())
    if kind not in KINDS:
        raise UnknownKindError(f"unknown kind {text!r}: use one of {', '.join(KINDS)}")
    return kind


# --- the taxonomy map -----------------------------------------------------------------------------

@dataclass(frozen=True)
class MapEntry:
    scheme: str  # "airs" or "open_eligibility"
    code: str
    name: str
    category: str
    kind: str | None  # None: a tag only


def derive_kind_map(crosswalk_rows: Iterable[dict]) -> list[MapEntry]:
    """The kind map from rows of the taxonomy crosswalk (our_category, scheme, code, name)."""
    entries = []
    for row in crosswalk_rows:
        category = row["our_category"].strip()
        entries.append(MapEntry(row["scheme"].strip(), row["code"].strip(), row["name"].strip(),
                                category, CATEGORY_KINDS.get(category)))
    return entries


def write_kind_map(entries: Iterable[MapEntry], path: Path = KIND_MAP_PATH) -> None:
    """Regenerate `kind_map.csv` (see resources/taxonomy/data/README.md)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["scheme", "code", "name", "category", "kind"])
        for e in entries:
            writer.writerow([e.scheme, e.code, e.name, e.category, e.kind or ""])


class KindMap:
    """Lookup over the kind map: AIRS codes by hierarchy, Open Eligibility by id, any term by name."""

    def __init__(self, entries: Iterable[MapEntry]):
        self.entries = list(entries)
        self.airs: dict[tuple[str, ...], list[MapEntry]] = {}
        self.open_eligibility: dict[str, list[MapEntry]] = {}
        self.by_name: dict[str, list[MapEntry]] = {}
        for e in self.entries:
            if e.scheme == "airs":
                self.airs.setdefault(_code_parts(e.code), []).append(e)
            else:
                self.open_eligibility.setdefault(e.code, []).append(e)
            self.by_name.setdefault(_name_key(e.name), []).append(e)

    @classmethod
    def load(cls, path: Path = KIND_MAP_PATH) -> "KindMap":
        with open(path, newline="", encoding="utf-8") as f:
            return cls(MapEntry(r["scheme"], r["code"], r["name"], r["category"], r["kind"] or None)
                       for r in csv.DictReader(f))

    def airs_ancestors(self, code: str) -> list[list[MapEntry]]:
        """Listed entries for `code` and each of its ancestors, nearest first.

        AIRS codes nest by segment: RX-8450.7000-350 sits under RX-8450.7000, RX-8450 and RX.
        """
        parts = _code_parts(code)
        return [self.airs[parts[:n]] for n in range(len(parts), 0, -1) if parts[:n] in self.airs]

    def open_eligibility_id(self, code: str) -> list[MapEntry]:
        return self.open_eligibility.get(code.strip(), [])

    def named(self, name: str) -> list[MapEntry]:
        return self.by_name.get(_name_key(name), [])


@lru_cache(maxsize=1)
def kind_map() -> KindMap:
    return KindMap.load()


# --- keywords -------------------------------------------------------------------------------------

def load_keyword_rules(path: Path = KEYWORDS_PATH) -> dict[str, PhraseRule]:
    rules = {kind: PhraseRule(kind) for kind in KINDS}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            kind, phrase, effect = row["kind"].strip(), row["phrase"].strip(), row["effect"].strip()
            if kind not in rules or not phrase:
                raise ValueError(f"{path}: bad keyword row {row}")
            (rules[kind].excludes if effect == "exclude" else rules[kind].matches).append(phrase)
    return {kind: rule.compile() for kind, rule in rules.items()}


@lru_cache(maxsize=1)
def keyword_rules() -> dict[str, PhraseRule]:
    return load_keyword_rules()


def keyword_kinds(text: str) -> dict[str, str]:
    """KIND -> reason, from the keywords found in a service's own words."""
    normalised = normalise_text(text)
    found = {}
    for kind, rule in keyword_rules().items():
        phrase = rule.find(normalised)
        if phrase:
            found[kind] = f"keyword '{phrase}' in name/description"
    return found


# --- classifying taxonomy terms -------------------------------------------------------------------

@dataclass(frozen=True)
class TermInfo:
    id: str
    code: str | None
    name: str | None
    parent_id: str | None
    taxonomy_name: str | None  # taxonomy.name, else the term's free-text `taxonomy`


@dataclass
class TermMatch:
    kinds: dict[str, str] = field(default_factory=dict)  # KIND -> reason
    tags: dict[str, str] = field(default_factory=dict)  # category -> reason

    def __bool__(self) -> bool:
        return bool(self.kinds or self.tags)


def _scheme(code: str, taxonomy_name: str | None) -> str | None:
    """Which scheme a term's code is in: named by its taxonomy, else guessed from the code's shape."""
    name = (taxonomy_name or "").lower()
    if "eligibility" in name:
        return "open_eligibility"
    if "airs" in name or "211" in name:
        return "airs"
    if AIRS_CODE.match(code.upper()):
        return "airs"
    if code.isdigit():
        return "open_eligibility"
    return None


def _label(term: TermInfo) -> str:
    return " ".join(p for p in (term.code, term.name) if p) or term.id


def classify_term(term: TermInfo, kmap: KindMap | None = None) -> TermMatch:
    """KINDS and tags a taxonomy term implies on its own (without looking at its parents)."""
    kmap = kmap or kind_map()
    match = TermMatch()
    code = (term.code or "").strip()
    label = _label(term)
    levels: list[list[MapEntry]] = []
    scheme = _scheme(code, term.taxonomy_name) if code else None
    if scheme == "airs":
        levels = kmap.airs_ancestors(code)
    elif scheme == "open_eligibility" and kmap.open_eligibility_id(code):
        levels = [kmap.open_eligibility_id(code)]
    via_name = False
    if not levels and term.name and kmap.named(term.name):
        levels, via_name = [kmap.named(term.name)], True
    for depth, entries in enumerate(levels):
        nearest = entries[0]
        if via_name:
            reason = f"taxonomy {label} (named as {nearest.scheme} {nearest.code} {nearest.name})"
        elif _code_parts(nearest.code) == _code_parts(code):
            reason = f"taxonomy {label}"
        else:
            reason = f"taxonomy {label} (within {nearest.code} {nearest.name})"
        for e in entries:
            if depth == 0:
                match.tags.setdefault(e.category, reason)
            if e.kind and not match.kinds:
                match.kinds[e.kind] = reason
        if match.kinds:
            break
    for tag, reason in service_tags.tag_map().tags_for(code or None, term.name, scheme).items():
        match.tags.setdefault(tag, reason)
    return match


class TermClassifier:
    """Classifies terms, inheriting from parent terms (by parent_id) when a term matches nothing."""

    MAX_DEPTH = 12

    def __init__(self, db, kmap: KindMap | None = None):
        self.db = db
        self.kmap = kmap or kind_map()
        self.terms: dict[str, TermInfo | None] = {}
        self.matches: dict[str, TermMatch] = {}

    def remember(self, term: TermInfo) -> None:
        self.terms.setdefault(term.id, term)

    def _term(self, term_id: str) -> TermInfo | None:
        if term_id not in self.terms:
            self.terms[term_id] = next(iter(_load_terms(self.db, [term_id]).values()), None)
        return self.terms[term_id]

    def classify(self, term_id: str) -> TermMatch:
        if term_id in self.matches:
            return self.matches[term_id]
        chain, seen, term = [], set(), self._term(term_id)
        match = TermMatch()
        while term is not None and term.id not in seen and len(chain) < self.MAX_DEPTH:
            seen.add(term.id)
            chain.append(term)
            match = classify_term(term, self.kmap)
            if match or not term.parent_id:
                break
            term = self._term(term.parent_id)
        if match and len(chain) > 1:
            inner = _label(chain[0])
            match = TermMatch({k: f"taxonomy {inner} (under {r[len('taxonomy '):]})" for k, r in match.kinds.items()},
                              {t: f"taxonomy {inner} (under {r[len('taxonomy '):]})" for t, r in match.tags.items()})
        self.matches[term_id] = match
        return match


def _load_terms(db, term_ids: Iterable[str]) -> dict[str, TermInfo]:
    ids = list(term_ids)
    rows = db.execute(
        select(TaxonomyTerm.id, TaxonomyTerm.code, TaxonomyTerm.name, TaxonomyTerm.parent_id,
               TaxonomyTerm.taxonomy, Taxonomy.name)
        .outerjoin(Taxonomy, Taxonomy.id == TaxonomyTerm.taxonomy_id)
        .where(TaxonomyTerm.id.in_(ids))
    ).all()
    return {r[0]: TermInfo(r[0], r[1], r[2], r[3], r[5] or r[4]) for r in rows}


# --- services -------------------------------------------------------------------------------------

@dataclass
class ServiceKinds:
    kinds: dict[str, str]  # KIND -> reason
    tags: dict[str, str]  # tag -> reason


def classify_service(name: str | None, description: str | None, term_matches: Iterable[TermMatch],
                     extra_text: str | None = None, *, keywords: Iterable[str] = (), eligibility: str | None = None,
                     fees: str | None = None, coded: bool = False) -> ServiceKinds:
    """A service's KINDS and tags.

    KINDS come from its taxonomy terms; from keywords in its own words only when the terms give no
    KIND. Its words are its name, its description (its organization's, `extra_text`, when it has
    none) and its free-text `keywords`; for a service a directory has `coded` with taxonomy codes
    (211 exports), only its name and keywords: the 211's codes said what it is, and a description's
    passing mention ("...and shelters for people experiencing homelessness") must not make it a shelter. Tags come from the terms and, added to those, from phrases
    in its words, eligibility and fees. A shelter for DV or trafficking survivors, or one that calls
    itself confidential or undisclosed, gets the confidential_location tag.
    """
    kinds: dict[str, str] = {}
    tags: dict[str, str] = {}
    for m in term_matches:
        for k, reason in m.kinds.items():
            kinds.setdefault(k, reason)
        for t, reason in m.tags.items():
            tags.setdefault(t, reason)
    own_text = " ".join(p for p in (name, description if description else extra_text, *keywords) if p)
    if not kinds:
        kinds = keyword_kinds(" ".join(p for p in (name, *keywords) if p) if coded else own_text)
        if coded:
            kinds = {k: r.replace("in name/description", "in name") for k, r in kinds.items()}
    for tag, reason in service_tags.text_tags(" ".join(p for p in (own_text, eligibility) if p), fees).items():
        tags.setdefault(tag, reason)
    if "shelter" in kinds:
        dv = [t for t in CONFIDENTIAL_SHELTER_TAGS if t in tags]
        word = CONFIDENTIAL_WORDS.search(" ".join(p for p in (name, description, extra_text) if p))
        if dv:
            tags[CONFIDENTIAL_TAG] = f"{dv[0]} shelter: {tags[dv[0]]}"
        elif word:
            tags[CONFIDENTIAL_TAG] = f"shelter described as '{word.group(1).lower()}'"
    return ServiceKinds(kinds, tags)


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def refresh_service_kinds(db, service_ids: Iterable[str] | None = None,
                          progress=None) -> tuple[dict[str, int], dict[str, int]]:
    """(Re)compute `service_kind` and `service_tag` rows for these services (None: all of them).

    `db` is a Connection or Session inside the caller's transaction. Returns (services per KIND,
    services per tag).
    """
    if service_ids is None:
        ids = list(db.execute(select(Service.id)).scalars())
    else:
        ids = sorted(set(service_ids))
    counts = {k: 0 for k in KINDS}
    tag_counts: dict[str, int] = {}
    classifier = TermClassifier(db)
    # Every old row goes before any new one: deleting from a table this transaction keeps filling
    # would make PostgreSQL (whose statistics cannot see uncommitted rows) scan it again and again.
    for chunk in _chunks(ids):
        db.execute(delete(ServiceKind).where(ServiceKind.service_id.in_(chunk)))
        db.execute(delete(ServiceTag).where(ServiceTag.service_id.in_(chunk)))
    for chunk in _chunks(ids):
        services = db.execute(
            select(Service.id, Service.name, Service.alternate_name, Service.description, Organization.description,
                   Service.eligibility_description, Service.fees_description)
            .outerjoin(Organization, Organization.id == Service.organization_id)
            .where(Service.id.in_(chunk))
        ).all()
        terms_of = _service_terms(db, chunk, classifier)
        kind_rows, tag_rows = [], []
        for sid, name, alt, description, org_description, eligibility, fees in services:
            full_name = " ".join(p for p in (name, alt) if p)
            term_ids = sorted(terms_of.get(sid, ()))
            keywords = [t.name for t in (classifier.terms.get(i) for i in term_ids)
                        if t and t.name and (t.taxonomy_name or "").lower() in KEYWORD_TAXONOMIES]
            matches = [classifier.classify(t) for t in term_ids]
            coded = any(t and t.code and (t.taxonomy_name or "").lower() not in KEYWORD_TAXONOMIES
                        for t in (classifier.terms.get(i) for i in term_ids))
            result = classify_service(full_name, description, matches, org_description, keywords=keywords,
                                      eligibility=eligibility, fees=fees, coded=coded)
            kind_rows += [{"service_id": sid, "kind": k, "reason": r[:2000]} for k, r in result.kinds.items()]
            tag_rows += [{"service_id": sid, "tag": t, "reason": r[:2000]} for t, r in result.tags.items()]
            for k in result.kinds:
                counts[k] += 1
            for t in result.tags:
                tag_counts[t] = tag_counts.get(t, 0) + 1
        if kind_rows:
            db.execute(insert(ServiceKind), kind_rows)
        if tag_rows:
            db.execute(insert(ServiceTag), tag_rows)
        if progress is not None:
            progress.advance(len(chunk))
    return counts, dict(sorted(tag_counts.items()))


def _service_terms(db, service_ids: list[str], classifier: TermClassifier) -> dict[str, set[str]]:
    """Term ids tagged on each service, directly or on one of its service_at_location rows."""
    sal_service = dict(db.execute(
        select(ServiceAtLocation.id, ServiceAtLocation.service_id)
        .where(ServiceAtLocation.service_id.in_(service_ids))
    ).all())
    terms_of: dict[str, set[str]] = {}
    for ids, entity in ((service_ids, "service"), (list(sal_service), "service_at_location")):
        for chunk in _chunks(ids):
            rows = db.execute(
                select(Attribute.link_id, Attribute.link_entity, TaxonomyTerm.id, TaxonomyTerm.code,
                       TaxonomyTerm.name, TaxonomyTerm.parent_id, TaxonomyTerm.taxonomy, Taxonomy.name)
                .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
                .outerjoin(Taxonomy, Taxonomy.id == TaxonomyTerm.taxonomy_id)
                .where(Attribute.link_id.in_(chunk))
            ).all()
            for link_id, link_entity, tid, code, name, parent_id, tax_text, tax_name in rows:
                if link_entity not in (entity, None, ""):
                    continue
                sid = sal_service[link_id] if entity == "service_at_location" else link_id
                classifier.remember(TermInfo(tid, code, name, parent_id, tax_name or tax_text))
                terms_of.setdefault(sid, set()).add(tid)
    return terms_of


@lru_cache(maxsize=1)
def known_tags() -> frozenset[str]:
    """Every tag a search can ask for: those the rules can give, except the KINDS' own categories
    (the kind is asked for already) and the confidential_location flag. It lives here, not in
    service_tags, because it needs the kinds, and service_tags must not import them."""
    tags = set(service_tags.ATTRIBUTE_TAGS) | set(service_tags.FOCUS_TAGS) | {e.category for e in kind_map().entries}
    tags |= {e.tag for entries in service_tags.tag_map().by_name.values() for e in entries}
    tags |= {tag for tag, _ in service_tags.tag_keywords()}
    return frozenset(tags - set(KINDS) - {CONFIDENTIAL_TAG})
