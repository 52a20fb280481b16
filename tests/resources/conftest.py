"""Fixtures for the directory's tests: a fresh SQLite directory per test, the shared sample data."""
from __future__ import annotations

import pytest
from sqlalchemy import insert

from infra.db import Base, make_engine, session_scope
from resources.models import (
    Address,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    ServiceKind,
    ServiceTag,
)
from resources.places.gazetteer import Place
from resources.search.index import refresh_search_points
from tests.helpers import HSDS_DATA, SHARED
from tests.helpers import SAMPLE_DIRECTORY as SAMPLE

SAMPLE_NAMES = SHARED / "eval" / "sample" / "directory_names.json"
CROSSWALK = SHARED / "data" / "taxonomy-crosswalk.csv"



def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs a PostgreSQL server (creates and drops its own scratch "
                                       "database; skipped when none answers)")


class SharedData:
    """Paths into ../shared, the project's test data (never copied into the repo)."""

    root = SHARED
    sample = SAMPLE
    sample_names = SAMPLE_NAMES
    hsds = HSDS_DATA
    crosswalk = CROSSWALK


@pytest.fixture
def shared() -> type[SharedData]:
    if not SHARED.is_dir():
        pytest.skip("../shared (test data) is absent")
    return SharedData


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path}/t.db")
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sample_engine(engine, shared):
    """A directory holding the shared HSDS 3.0 sample (10 services in Boise and Omaha)."""
    from resources.importers.hsds_import import import_hsds

    import_hsds(shared.sample, engine)
    return engine


@pytest.fixture
def at():
    """at(lat, lon): a searched-from place at exact coordinates."""
    return lambda lat, lon: Place("city", "Here", "XX", lat, lon)


class DirectoryBuilder:
    """Adds services straight into the tables, so search tests state exactly what is where."""

    def __init__(self, engine):
        self.engine = engine
        self.n = 0

    def add(self, name: str, lat: float | None, lon: float | None, kind: str = "shelter", *, status: str = "active",
            phone: str | None = None, phone_type: str = "voice", org_phone: str | None = None,
            byday: str | None = None, opens_at: str | None = None, closes_at: str | None = None,
            hours_description: str | None = None, address: str | None = None, tags: tuple[str, ...] = (),
            extra_locations: tuple[tuple[float, float], ...] = (), languages: tuple[str, ...] = (),
            ages: tuple[int | None, int | None] = (None, None), at_location_of: str | None = None,
            organization_of: str | None = None) -> str:
        """A service (id "svc-N") of `kind` at (lat, lon), or at the first location of `at_location_of`."""
        self.n += 1
        sid = f"svc-{self.n}"
        oid = f"org-{organization_of.split('-')[1]}" if organization_of else f"org-{self.n}"
        with session_scope(self.engine) as s:
            if not organization_of:
                s.execute(insert(Organization), [{"id": oid, "name": f"{name} Inc."}])
            s.execute(insert(Service), [{"id": sid, "organization_id": oid, "name": name, "status": status,
                                         "minimum_age": ages[0], "maximum_age": ages[1]}])
            if at_location_of:
                s.execute(insert(ServiceAtLocation), [{"id": f"sal-{self.n}-0", "service_id": sid,
                                                       "location_id": f"loc-{at_location_of.split('-')[1]}-0"}])
            for i, (la, lo) in enumerate(() if at_location_of else ((lat, lon), *extra_locations)):
                lid = f"loc-{self.n}-{i}"
                s.execute(insert(Location), [{"id": lid, "name": name, "latitude": la, "longitude": lo}])
                s.execute(insert(ServiceAtLocation), [{"id": f"sal-{self.n}-{i}", "service_id": sid, "location_id": lid}])
                if address:
                    s.execute(insert(Address), [{"id": f"adr-{self.n}-{i}", "location_id": lid, "address_1": address,
                                                 "city": "Town", "state_province": "ID", "postal_code": "83702",
                                                 "address_type": "physical"}])
            s.execute(insert(ServiceKind), [{"service_id": sid, "kind": kind, "reason": "test"}])
            for tag in tags:
                s.execute(insert(ServiceTag), [{"service_id": sid, "tag": tag, "reason": "test"}])
            for code in languages:
                s.execute(insert(Language), [{"id": f"lang-{self.n}-{code}", "service_id": sid, "code": code}])
            if phone:
                s.execute(insert(Phone), [{"id": f"ph-{self.n}", "service_id": sid, "number": phone, "type": phone_type}])
            if org_phone:
                s.execute(insert(Phone), [{"id": f"oph-{self.n}", "organization_id": oid, "number": org_phone,
                                           "type": "voice"}])
            if byday or hours_description:
                s.execute(insert(Schedule), [{"id": f"sch-{self.n}", "service_id": sid, "freq": "WEEKLY", "byday": byday,
                                              "opens_at": opens_at, "closes_at": closes_at,
                                              "description": hours_description}])
            refresh_search_points(s.connection(), [sid])
        return sid


@pytest.fixture
def directory(engine):
    return DirectoryBuilder(engine)
