"""Where to search: the place the person named, resolved to one point, with the directory in mind.

A town named with its state, a ZIP code or a state is clear. A bare town name that several towns
share ("Springfield", "Bellevue", "Meridian") is resolved here, not by population alone: an agency
in Nebraska that hears "Bellevue" almost surely means Bellevue, NE, near its services, not the
larger Bellevue, WA. So the most populous of the towns that have a service of the kind asked for
within NEAR_SERVICE_KM wins; if none has, the most populous. Results come at once (CONTRACT: a
request with a kind and a place gets results in its first reply); the other towns are offered
afterwards only when it truly matters: when one is of a comparable size (OTHER_TOWN_MIN_SHARE of
the largest) and far enough away (OTHER_TOWN_MIN_KM) that its results would differ.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from sqlalchemy.orm import Session

from resources.places.gazetteer import Place, gazetteer
from resources.places.geocode import ZIP_RE, geocode, town_choices
from resources.search.nearby import haversine_km, search_services

NEAR_SERVICE_KM = 50
OTHER_TOWN_MIN_SHARE = 1 / 3
OTHER_TOWN_MIN_KM = 150
MAX_OTHER_TOWNS = 3


@dataclass
class Where:
    """The point to search around, how to name it to the person, and same-named towns to offer."""

    place: Place
    others: List[Place] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.place.label


def is_bare_town(value: str) -> bool:
    """A town name with no state ("Springfield"), as the place recogniser leaves shared names."""
    return bool(value) and "," not in value and not ZIP_RE.search(value) and not gazetteer().state_code(value)


def where_to_search(session: Session, value: Optional[str], kind: str) -> Optional[Where]:
    """Resolve the `place` slot's value for a search of `kind`; None if it names no known place."""
    if not value:
        return None
    choices = town_choices(value) if is_bare_town(value) else []
    if len(choices) > 1:
        chosen = next((town for town in choices if has_service_near(session, kind, town)), choices[0])
        return Where(chosen, others_worth_offering(chosen, choices))
    place = geocode(value)
    return Where(place) if place else None


def has_service_near(session: Session, kind: str, place: Place) -> bool:
    nearest = search_services(session, kind, place, limit=1)
    return bool(nearest) and nearest[0].distance_km <= NEAR_SERVICE_KM


def others_worth_offering(chosen: Place, choices: List[Place]) -> List[Place]:
    """Same-named towns that truly matter: comparable in size, and far from the one chosen."""
    floor = OTHER_TOWN_MIN_SHARE * max(town.population for town in choices)
    return [town for town in choices
            if town is not chosen and town.population >= floor
            and haversine_km(chosen.lat, chosen.lon, town.lat, town.lon) > OTHER_TOWN_MIN_KM][:MAX_OTHER_TOWNS]
