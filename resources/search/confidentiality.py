"""Which locations' street addresses must never be shown. HSDS has no field for it, so it is decided
here, from the data and from the operator's configuration, at every search:

A location's address is hidden when
- a service there is a shelter for survivors of domestic violence or trafficking (by taxonomy:
  BH-1800.1500-100, -308, Open Eligibility equivalents; or by its own words), or a shelter that calls
  itself "confidential" or "undisclosed": the import tags such a service `confidential_location`;
- a service there is a shelter with one of the tags in DIRECTORY_CONFIDENTIAL_TAGS (for instance
  `sexual_assault,shelter_youth_immigrant`);
- the location's name, description or address calls it confidential or undisclosed;
- the location, one of its services or that service's organization is listed in
  DIRECTORY_CONFIDENTIAL_IDS;
unless the location, the service or its organization is listed in DIRECTORY_PUBLIC_IDS (an agency's
public walk-in office whose export tags it like its shelter). Hiding a whole location protects a
shelter whose agency also runs, say, counseling at the same address. A hidden location's distance is
given to the whole kilometre, so searches from many ZIP codes cannot triangulate it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from resources.models import Service, ServiceAtLocation, ServiceKind, ServiceTag
from resources.taxonomy.kinds import CONFIDENTIAL_TAG, CONFIDENTIAL_WORDS

CONFIDENTIAL_IDS_ENV = "DIRECTORY_CONFIDENTIAL_IDS"
PUBLIC_IDS_ENV = "DIRECTORY_PUBLIC_IDS"
CONFIDENTIAL_TAGS_ENV = "DIRECTORY_CONFIDENTIAL_TAGS"


def _id_list(text: str | None) -> frozenset[str]:
    return frozenset(p.strip() for p in re.split(r"[,\s]+", text or "") if p.strip())


@dataclass(frozen=True)
class ConfidentialityRules:
    """The operator's additions to the data-derived rule (see the module docstring)."""

    confidential_ids: frozenset[str] = frozenset()
    public_ids: frozenset[str] = frozenset()
    shelter_tags: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ=os.environ) -> "ConfidentialityRules":
        return cls(_id_list(environ.get(CONFIDENTIAL_IDS_ENV)), _id_list(environ.get(PUBLIC_IDS_ENV)),
                   _id_list(environ.get(CONFIDENTIAL_TAGS_ENV)))


@dataclass(frozen=True)
class ServiceAt:
    """A service at a location, with what the rules look at."""

    location_id: str
    service_id: str
    organization_id: str | None
    tags: frozenset[str]
    is_shelter: bool = False


def tags_to_check(rules: ConfidentialityRules) -> list[str]:
    """The service tags the rules look at."""
    return [CONFIDENTIAL_TAG, *sorted(rules.shelter_tags)]


def decide_hidden(services_at: list[ServiceAt], location_texts: dict[str, list[str | None]],
                  rules: ConfidentialityRules) -> set[str]:
    """The locations (of those in `services_at` and `location_texts`) whose address must not be shown.

    `location_texts`: each location's name, description and address lines, for the words rule.
    """
    hidden: set[str] = set()
    for s in services_at:
        ids = {s.location_id, s.service_id, s.organization_id or ""}
        if rules.public_ids & ids:
            continue
        if (CONFIDENTIAL_TAG in s.tags or (s.is_shelter and s.tags & rules.shelter_tags)
                or rules.confidential_ids & ids):
            hidden.add(s.location_id)
    locations = {s.location_id for s in services_at} | set(location_texts)
    hidden |= locations & rules.confidential_ids
    for lid, texts in location_texts.items():
        if any(CONFIDENTIAL_WORDS.search(t or "") for t in texts):
            hidden.add(lid)
    return hidden - (rules.public_ids - rules.confidential_ids)


def _ids(name: str):
    return bindparam(name, expanding=True)


# Built once: a search runs these for its page of results.
_AT = (select(ServiceAtLocation.location_id, ServiceAtLocation.service_id, Service.organization_id, ServiceTag.tag)
       .join(Service, Service.id == ServiceAtLocation.service_id)
       .outerjoin(ServiceTag, and_(ServiceTag.service_id == Service.id, ServiceTag.tag.in_(_ids("tags"))))
       .where(ServiceAtLocation.location_id.in_(_ids("lids"))))
_SHELTERS = select(ServiceKind.service_id).where(ServiceKind.service_id.in_(_ids("sids")), ServiceKind.kind == "shelter")


def services_at(session: Session, location_ids: list[str], tags: list[str],
                rules: ConfidentialityRules) -> list[ServiceAt]:
    """Every service at these locations with those of `tags` it has (and whether it is a shelter, when
    the rules need to know)."""
    rows: dict[tuple[str, str], tuple[str | None, set[str]]] = {}
    for lid, sid, org, tag in session.execute(_AT, {"lids": location_ids, "tags": tags}):
        entry = rows.setdefault((lid, sid), (org, set()))
        if tag:
            entry[1].add(tag)
    shelters = set(session.execute(_SHELTERS, {"sids": sorted({sid for _, sid in rows})}).scalars()) \
        if rules.shelter_tags else set()
    return [ServiceAt(lid, sid, org, frozenset(found), sid in shelters) for (lid, sid), (org, found) in rows.items()]
