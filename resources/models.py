"""The resource directory's tables, kept close to HSDS 3.0 so an Open Referral export maps onto them
field for field and can be upserted by its own (string, usually UUID) ids.

Derived tables are ours, not HSDS, and are recomputed from the HSDS rows on every import:
`service_kind` (which of the navigator's four KINDS a service answers, and why), `service_tag` (focus
categories such as `trafficking`, survivor-relevant facts such as `takes_pets`, and the
`confidential_location` flag, each with its reason), `search_point` (the search index: one row per
active service, location and kind, on indexed coordinates) and `location_geocode` (which locations got
approximate coordinates from their ZIP code or town, and from what). Every HSDS table carries
`is_demo`, so demo rows can be told apart and removed before an agency's own directory goes in.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text, false

from infra import retention
from infra.db import Base

ID = String(255)  # HSDS ids are UUID strings; older exports use short numbers, 211 exports composites


def _ref(target: str, ondelete: str = "CASCADE") -> ForeignKey:
    return ForeignKey(f"{target}.id", ondelete=ondelete)


def _demo_flag() -> Column:
    return Column(Boolean, nullable=False, default=False, server_default=false())


class Organization(Base):
    __tablename__ = "organization"

    id = Column(ID, primary_key=True)
    name = Column(Text, nullable=False)
    alternate_name = Column(Text)
    description = Column(Text)
    email = Column(Text)
    website = Column(Text)
    parent_organization_id = Column(ID)  # no FK: parents may arrive in any order, or never
    is_demo = _demo_flag()
    dataset = Column(String(255))  # which import it came from (datapackage name or folder)
    imported_at = Column(DateTime)


class Service(Base):
    __tablename__ = "service"

    id = Column(ID, primary_key=True)
    organization_id = Column(ID, _ref("organization", "SET NULL"), index=True)
    program_id = Column(ID)
    name = Column(Text, nullable=False)
    alternate_name = Column(Text)
    description = Column(Text)
    url = Column(Text)
    email = Column(Text)
    status = Column(String(40))  # not indexed: too few values to help; normalised to lower case: active, inactive, defunct, ...
    interpretation_services = Column(Text)
    application_process = Column(Text)
    fees_description = Column(Text)
    wait_time = Column(Text)
    eligibility_description = Column(Text)
    minimum_age = Column(Integer)
    maximum_age = Column(Integer)
    alert = Column(Text)
    assured_date = Column(String(40))
    last_modified = Column(String(40))
    is_demo = _demo_flag()
    dataset = Column(String(255))
    imported_at = Column(DateTime)


class Location(Base):
    __tablename__ = "location"
    # Search prefilters on a latitude/longitude bounding box.
    __table_args__ = (Index("ix_location_lat_lon", "latitude", "longitude"),)

    id = Column(ID, primary_key=True)
    location_type = Column(String(40))
    url = Column(Text)
    organization_id = Column(ID, _ref("organization", "SET NULL"), index=True)
    name = Column(Text)
    alternate_name = Column(Text)
    description = Column(Text)
    transportation = Column(Text)
    latitude = Column(Float)
    longitude = Column(Float, index=True)
    external_identifier = Column(Text)
    external_identifier_type = Column(Text)
    is_demo = _demo_flag()
    dataset = Column(String(255))
    imported_at = Column(DateTime)


class Address(Base):
    __tablename__ = "address"

    id = Column(ID, primary_key=True)
    location_id = Column(ID, _ref("location"), nullable=False, index=True)
    attention = Column(Text)
    address_1 = Column(Text)
    address_2 = Column(Text)
    city = Column(Text)
    region = Column(Text)
    state_province = Column(Text)
    postal_code = Column(String(40))
    country = Column(String(40))
    address_type = Column(String(40))
    is_demo = _demo_flag()


class ServiceAtLocation(Base):
    __tablename__ = "service_at_location"

    id = Column(ID, primary_key=True)
    service_id = Column(ID, _ref("service"), nullable=False, index=True)
    location_id = Column(ID, _ref("location"), nullable=False, index=True)
    description = Column(Text)
    is_demo = _demo_flag()


class Phone(Base):
    __tablename__ = "phone"

    id = Column(ID, primary_key=True)
    location_id = Column(ID, _ref("location"), index=True)
    service_id = Column(ID, _ref("service"), index=True)
    organization_id = Column(ID, _ref("organization"), index=True)
    contact_id = Column(ID)  # contacts (named staff) are not imported
    service_at_location_id = Column(ID, _ref("service_at_location"), index=True)
    number = Column(String(100), nullable=False)
    extension = Column(String(40))
    type = Column(String(40))
    description = Column(Text)
    is_demo = _demo_flag()


class Schedule(Base):
    __tablename__ = "schedule"

    id = Column(ID, primary_key=True)
    service_id = Column(ID, _ref("service"), index=True)
    location_id = Column(ID, _ref("location"), index=True)
    service_at_location_id = Column(ID, _ref("service_at_location"), index=True)
    valid_from = Column(String(40))
    valid_to = Column(String(40))
    dtstart = Column(String(40))
    timezone = Column(String(64))
    until = Column(String(40))
    count = Column(String(40))
    wkst = Column(String(10))
    freq = Column(String(20))
    interval = Column(String(20))
    byday = Column(String(100))
    byweekno = Column(String(100))
    bymonthday = Column(String(100))
    byyearday = Column(String(100))
    description = Column(Text)
    opens_at = Column(String(40))
    closes_at = Column(String(40))
    schedule_link = Column(Text)
    attending_type = Column(Text)
    notes = Column(Text)
    is_demo = _demo_flag()


class Language(Base):
    __tablename__ = "language"

    id = Column(ID, primary_key=True)
    service_id = Column(ID, _ref("service"), index=True)
    location_id = Column(ID, _ref("location"), index=True)
    phone_id = Column(ID, _ref("phone"), index=True)
    name = Column(Text)
    code = Column(String(20))
    note = Column(Text)
    is_demo = _demo_flag()


class Taxonomy(Base):
    __tablename__ = "taxonomy"

    id = Column(ID, primary_key=True)
    name = Column(Text)
    description = Column(Text)
    uri = Column(Text)
    version = Column(String(100))
    is_demo = _demo_flag()


class TaxonomyTerm(Base):
    __tablename__ = "taxonomy_term"

    id = Column(ID, primary_key=True)
    code = Column(String(255), index=True)
    name = Column(Text)
    description = Column(Text)
    parent_id = Column(ID, index=True)  # no FK: parents may be absent from an export
    taxonomy = Column(Text)  # free-text taxonomy name some exports use instead of taxonomy_id
    language = Column(String(20))
    taxonomy_id = Column(ID, _ref("taxonomy", "SET NULL"), index=True)
    term_uri = Column(Text)
    is_demo = _demo_flag()


class Attribute(Base):
    """A taxonomy term attached to any entity (HSDS 3.0 replaced service_taxonomy with this)."""

    __tablename__ = "attribute"

    id = Column(ID, primary_key=True)
    link_id = Column(ID, nullable=False, index=True)  # polymorphic: see link_entity
    link_type = Column(Text)
    link_entity = Column(String(40))  # resolved on import: service, organization, location, ...
    taxonomy_term_id = Column(ID, _ref("taxonomy_term"), nullable=False, index=True)
    value = Column(Text)
    is_demo = _demo_flag()


class ServiceKind(Base):
    """Derived: the service answers a navigator KIND; `reason` says which tag or keyword made it so."""

    __tablename__ = "service_kind"

    service_id = Column(ID, _ref("service"), primary_key=True)
    kind = Column(String(40), primary_key=True)
    reason = Column(Text, nullable=False)


class ServiceTag(Base):
    """Derived: other crosswalk categories (domestic_violence, shelter_dv, ...) and safety flags."""

    __tablename__ = "service_tag"

    service_id = Column(ID, _ref("service"), primary_key=True)
    tag = Column(String(60), primary_key=True)
    reason = Column(Text, nullable=False)


class SearchPoint(Base):
    """Derived search index: an active service of `kind` at a location with coordinates, once plain
    (facet "") and once for each facet a search may ask for ("tag:takes_pets", "lang:es").

    One narrow table with a (kind, facet, cell, latitude) index answers "services of this kind, with
    this tag or language, in this box, nearest first" from the index alone: a box is a handful of
    whole-degree grid cells, each read over the box's latitudes only, so the work grows with what is
    near, not with the directory. Details are loaded for the page of results only. Rebuilt for the
    affected services by every import (`search_index`).
    """

    __tablename__ = "search_point"
    __table_args__ = (
        Index("ix_search_point_cell", "kind", "facet", "cell", "latitude", "longitude", "service_id", "location_id",
              "service_at_location_id", "timezone"),
    )

    # No foreign keys: rows are derived, rewritten by every import and removed with their service
    # (remove_demo_rows), and checking two keys for each of hundreds of thousands of rows doubles the
    # time PostgreSQL takes to import a large directory.
    service_id = Column(ID, primary_key=True)
    location_id = Column(ID, primary_key=True)
    kind = Column(String(40), primary_key=True)
    facet = Column(String(80), primary_key=True)  # "" for every service; "tag:<tag>", "lang:<ISO code>"
    service_at_location_id = Column(ID)  # the row linking them, whose phones and hours come first
    cell = Column(Integer, nullable=False)  # whole-degree grid cell: search_index.cell_of(lat, lon)
    latitude = Column(Float, nullable=False)
    longitude = Column(Float, nullable=False)
    minimum_age = Column(Integer)
    maximum_age = Column(Integer)
    timezone = Column(String(64))  # IANA name of the location's time zone, for "open now"


class LocationGeocode(Base):
    """Derived: a location whose export gave no coordinates, placed at its ZIP code or town centre."""

    __tablename__ = "location_geocode"

    location_id = Column(ID, _ref("location"), primary_key=True)
    method = Column(String(20), nullable=False)  # "zip" or "city"
    query = Column(Text, nullable=False)  # what was looked up, e.g. "33157" or "Miami, FL"


# The HSDS tables in an order where every parent comes before its children.
HSDS_MODELS = {
    "organization": Organization,
    "service": Service,
    "location": Location,
    "service_at_location": ServiceAtLocation,
    "address": Address,
    "phone": Phone,
    "schedule": Schedule,
    "language": Language,
    "taxonomy": Taxonomy,
    "taxonomy_term": TaxonomyTerm,
    "attribute": Attribute,
}
DERIVED_MODELS = (ServiceKind, ServiceTag, SearchPoint)  # keyed by service_id
DIRECTORY_TABLES = [m.__table__ for m in (*HSDS_MODELS.values(), *DERIVED_MODELS, LocationGeocode)]
retention.exempt(*DIRECTORY_TABLES, why="the resource directory: services and places, nothing a survivor said")


def create_directory_tables(engine) -> None:
    """Create only the directory's tables (idempotent); `navigator.schema.create_schema` creates all.
    The search index upgrades itself whenever tables are created (resources.search.index listens,
    so these models need not import it): every importer and search loads it."""
    Base.metadata.create_all(engine, tables=DIRECTORY_TABLES)
