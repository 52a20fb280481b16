"""Builds the project's own spaCy pipeline: blank English plus an entity ruler that knows US places.

No spaCy model can be downloaded where agencies run the navigator, so the pipeline is made from
`spacy.blank("en")` and the offline gazetteer, saved to `build/spacy_en_navigator`, and named by
that path in `config.yml` (SpacyNLP). Labels: CITY, STATE, ZIP. After the ruler, the
`navigator_misspelt_places` component (bot.nlp.misspellings) adds towns and states typed with a slip
("omha", "bosie"), the right spelling as the span's `kb_id`. Which of those spans really are places
(and not "hope" or "mobile") is decided later, in `bot.components.places`.

Run: `python -m bot.nlp.pipeline [OUTPUT_DIR]`.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bot.nlp.misspellings import FACTORY as MISSPELT_PLACES  # registers the spaCy factory
from infra.config import BUILD_DIR
from resources.places.gazetteer import ALIASES, STATES, gazetteer

PIPELINE_PATH = BUILD_DIR / "spacy_en_navigator"
PIPELINE_VERSION = "2"  # bump when the patterns change shape, so set-up rebuilds and retrains


def place_patterns() -> list[dict]:
    """Entity-ruler patterns: every city and town, state names and codes, ZIP codes."""
    patterns: list[dict] = []
    for name in sorted(gazetteer().city_names()):
        patterns.append({"label": "CITY", "pattern": name.lower()})
        if any(c in name for c in ".'-"):  # "St. Louis" tokenises differently from "st. louis"
            patterns.append({"label": "CITY", "pattern": name})
        if name.lower().startswith(("saint ", "st. ", "fort ", "mount ")):
            short = (name.lower().replace("saint ", "st ").replace("st. ", "st ")
                     .replace("fort ", "ft ").replace("mount ", "mt "))
            patterns.append({"label": "CITY", "pattern": short})
            patterns.append({"label": "CITY", "pattern": short.replace(" ", ". ", 1)})
    patterns.extend({"label": "CITY", "pattern": alias} for alias in ALIASES)
    for code, state_name in STATES.items():
        patterns.append({"label": "STATE", "pattern": state_name.lower()})
        # Lower-case codes ("in", "me", "or") are English words: only capitals here; the place
        # component accepts a lower-case code right after a town ("boise id").
        patterns.append({"label": "STATE", "pattern": [{"ORTH": code}]})
    patterns.append({"label": "ZIP", "pattern": [{"TEXT": {"REGEX": r"^\d{5}(?:-\d{4})?$"}}]})
    return patterns


def build_pipeline():
    """A blank English pipeline that tags CITY / STATE / ZIP spans, misspelt ones too."""
    import spacy  # 4 s to import: only set-up builds the pipeline (Rasa loads the saved one)

    nlp = spacy.blank("en")
    nlp.meta["name"] = "en_navigator"
    nlp.meta["version"] = f"0.{PIPELINE_VERSION}.0"
    nlp.meta["description"] = "Blank English + gazetteer entity ruler (survivor resource navigator)"
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True})
    ruler.add_patterns(place_patterns())
    nlp.add_pipe(MISSPELT_PLACES, after="entity_ruler")
    return nlp


def save_pipeline(path: Path = PIPELINE_PATH) -> Path:
    """Build the pipeline and save it to `path` (replacing what was there)."""
    nlp = build_pipeline()
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    nlp.to_disk(tmp)
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return path


if __name__ == "__main__":
    print(save_pipeline(Path(sys.argv[1]) if len(sys.argv) > 1 else PIPELINE_PATH))
