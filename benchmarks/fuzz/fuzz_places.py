"""Fuzz the place parsers: a survivor's message through the project's spaCy pipeline and the place
recogniser (bot.components.places), the dialogue's place resolution (bot.actions.where), offline
geocoding (resources.places.geocode) and the CLI's `--near` (resources.search.nearby.resolve_place).

    .venv/bin/python benchmarks/fuzz/fuzz_places.py -max_total_time=300

Allowed outcomes: a place, None / no entity, or UnknownPlaceError from resolve_place.
"""
import atheris
import harness  # noqa: F401  (first: sys.path, defaults)
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

with harness.instrumented():
    from bot.actions.where import is_bare_town, where_to_search
    from bot.components.places import places_in_doc, town_value
    from navigator.schema import create_schema
    from resources.importers.hsds_import import import_hsds
    from resources.places.geocode import geocode, geocode_address, town_choices
    from resources.search.nearby import UnknownPlaceError, resolve_place

import spacy  # noqa: E402

from bot.channels.incoming import MAX_TEXT_CHARS  # noqa: E402
from bot.nlp.pipeline import PIPELINE_PATH  # noqa: E402

NLP = spacy.load(PIPELINE_PATH)
ENGINE = create_engine("sqlite://", future=True, poolclass=StaticPool, connect_args={"check_same_thread": False})
create_schema(ENGINE)
import_hsds(harness.ROOT / "resources" / "demo" / "san_mateo", ENGINE)
SESSION = Session(ENGINE, future=True)
KINDS = ["shelter", "mental_health", "substance_use", "legal"]


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    message = harness.text(fdp, MAX_TEXT_CHARS)
    for entity in places_in_doc(NLP(message)):
        value = entity["value"]
        assert value and (geocode(value) or town_choices(value)), entity
        where_to_search(SESSION, value, fdp.PickValueInList(KINDS))
    geocode(message)
    town_value(message)
    is_bare_town(message)
    where_to_search(SESSION, message, fdp.PickValueInList(KINDS))
    try:
        resolve_place(message)
    except UnknownPlaceError:
        pass
    geocode_address(harness.maybe_text(fdp, 20), harness.maybe_text(fdp, 40), harness.maybe_text(fdp, 20))


if __name__ == "__main__":
    harness.fuzz(one_input)
