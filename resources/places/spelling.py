"""Place names typed with a slip ("omha", "bosie", "chicgo", "nebrska"), found in the gazetteer.

People texting in a hurry misspell towns. `closest_spelling` finds the town or state a text is one
or two slips from (a swap of neighbouring letters counts as one), so both the bot's place
recogniser (bot.nlp.misspellings) and `geocode` accept such names. Only towns of
SPELLING_MIN_POPULATION or more are guessed at when no state is given: a misspelt hamlet is far
likelier to be some other word. Within a given state, every town is considered.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from resources.places.gazetteer import STATES, Gazetteer, gazetteer, name_key

SPELLING_MIN_POPULATION = 10_000


@dataclass(frozen=True)
class Spelling:
    """A name the gazetteer knows, found for a misspelling of it."""

    name: str  # as the gazetteer spells it: "Omaha", "Nebraska"
    kind: str  # "city" or "state"
    distance: int  # slips between the text and the name
    population: int


def closest_spelling(text: str, state: str | None = None) -> Spelling | None:
    """The town (in `state` if given) or state that `text` most likely misspells, or None.

    Among names equally close, the most populous. The first letter must match: a slip rarely
    hits it, and guessing there turns everyday words into towns.
    """
    return spelling_index().closest(text, state)


def max_spelling_edits(squashed: str) -> int:
    """How many slips a name of this length (spaces squashed out) may hold and still be found."""
    if len(squashed) < 4:
        return 0
    return 1 if len(squashed) < 8 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours is one edit); limit + 1 if over."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _deletions(word: str, depth: int) -> set[str]:
    found, frontier = {word}, {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


class SpellingIndex:
    """A symmetric-delete index (as in SymSpell) over the names of towns of
    SPELLING_MIN_POPULATION or more and of the states, spaces squashed out ("sanantonio"), so a
    lookup takes well under a millisecond; within one state, a direct comparison with its towns.
    About 0.2 s and 35 MB to build."""

    def __init__(self, gaz: Gazetteer):
        self.targets: dict[str, tuple[str, str, int]] = {}  # squashed name -> (name, kind, population)
        self.index: dict[str, str | tuple[str, ...]] = {}  # deletion variant -> squashed name(s)
        self.by_state: dict[str, list[tuple[str, str, int]]] = {}  # state -> [(squashed, name, pop)]
        for ckey, (name, _lat, _lon, population, _tz) in gaz.cities.items():
            key, state = ckey.split("|")
            self.by_state.setdefault(state, []).append((key.replace(" ", ""), name, population))
        for key, ckeys in gaz.by_name.items():
            name, population = gaz.cities[ckeys[0]][0], gaz.cities[ckeys[0]][3]
            if population >= SPELLING_MIN_POPULATION:
                self._add(key.replace(" ", ""), name, "city", population)
        for name in STATES.values():
            self._add(name_key(name).replace(" ", ""), name, "state", 0)
        self.longest = max([len(t) for t in self.targets]
                           + [len(t) for towns in self.by_state.values() for t, _name, _pop in towns])

    def _add(self, squashed: str, name: str, kind: str, population: int) -> None:
        if squashed in self.targets:
            return
        self.targets[squashed] = (name, kind, population)
        for variant in _deletions(squashed, max_spelling_edits(squashed)):
            known = self.index.get(variant)
            self.index[variant] = squashed if known is None else (
                (known, squashed) if isinstance(known, str) else known + (squashed,))

    def closest(self, text: str, state: str | None = None) -> Spelling | None:
        squashed = name_key(text).replace(" ", "")
        limit = max_spelling_edits(squashed)
        if not limit or len(squashed) > self.longest + limit:
            # Longer than every name by more than the slips allowed, so it can be none of them; and
            # a long text's deletion variants would cost minutes and gigabytes (a pasted paragraph).
            return None
        if state:
            candidates = [(target, name, "city", population)
                          for target, name, population in self.by_state.get(state, [])
                          if target[:1] == squashed[:1] and abs(len(target) - len(squashed)) <= limit]
        else:
            found: set[str] = set()
            for variant in _deletions(squashed, limit):
                known = self.index.get(variant)
                if known:
                    found.update((known,) if isinstance(known, str) else known)
            candidates = [(target, *self.targets[target]) for target in found if target[:1] == squashed[:1]]
        best: tuple[int, int, str, str] | None = None
        for target, name, kind, population in candidates:
            allowed = min(limit, max_spelling_edits(target))
            distance = edit_distance(squashed, target, allowed)
            if distance <= allowed and (best is None or (distance, -population) < (best[0], -best[1])):
                best = (distance, population, name, kind)
        return Spelling(best[2], best[3], best[0], best[1]) if best else None


@lru_cache(maxsize=1)
def spelling_index() -> SpellingIndex:
    """The process-wide index, built on first use from the process-wide gazetteer."""
    return SpellingIndex(gazetteer())
