"""Generate a fictional HSDS 3.0 CSV directory of N services for the directory benchmark.

Services sit around real US towns (the offline gazetteer), more of them where more people live, as a
statewide or national 211 export would; names, descriptions, taxonomy tags (some AIRS, some Open
Eligibility, about a third untagged so keywords decide), hours, languages and a few inactive
services are drawn from fixed lists with a seeded random generator, so a size always gives the same
directory. Nothing here is real: every phone number is a 555 number.

    .venv/bin/python -m benchmarks.directory.generate 10000 /tmp/dir10k
"""
from __future__ import annotations

import argparse
import bisect
import csv
import json
import random
import uuid
from pathlib import Path

from resources.places.gazetteer import gazetteer

KIND_WORDS = {
    "shelter": ("Shelter", "Safe House", "Family Shelter", "Emergency Housing"),
    "mental_health": ("Counseling Center", "Behavioral Health", "Trauma Therapy", "Mental Health Clinic"),
    "substance_use": ("Recovery Center", "Detox Program", "Addiction Services", "Sober Living"),
    "legal": ("Legal Aid", "Immigration Law Clinic", "Survivor Law Project", "Protective Order Help"),
}
TERMS = [  # id, code, name, taxonomy, kind it implies
    ("t-bh1800", "BH-1800", "Emergency Shelter", "airs", "shelter"),
    ("t-bh1800-100", "BH-1800.1500-100", "Domestic Violence Shelters", "airs", "shelter"),
    ("t-bh1800-308", "BH-1800.1500-308", "Human Trafficking Shelters", "airs", "shelter"),
    ("t-rm6500", "RM-6500.1500", "Community Mental Health Agencies", "airs", "mental_health"),
    ("t-rx8450", "RX-8450.7000", "Substance Use Disorder Treatment Programs", "airs", "substance_use"),
    ("t-ft3200", "FT-3200", "General Legal Aid", "airs", "legal"),
    ("t-oe1121", "1121", "Emergency Shelter", "oe", "shelter"),
    ("t-oe1220", "1220", "Counseling", "oe", "mental_health"),
    ("t-oe1180", "1180", "Detox", "oe", "substance_use"),
    ("t-oe1111", "1111", "Legal", "oe", "legal"),
]
EXTRA_TERMS = [("t-yk6600", "YK-6600", "Pets", "airs"), ("t-ye9000", "YE-9000", "Undocumented People", "airs"),
               ("t-yt2400", "YT-2400", "Gay/Lesbian/Bisexual/Transgender Individuals", "airs"),
               ("t-yx1500", "YX-1500.9000", "Victims of Human Trafficking", "airs")]
DESCRIPTIONS = {
    "shelter": "Emergency shelter for women and children leaving abuse. Free. Call first.",
    "mental_health": "Free trauma-focused counseling and support groups for survivors of violence.",
    "substance_use": "Outpatient recovery and detox referrals. Sliding scale fees.",
    "legal": "Free civil legal help: protective orders, custody, immigration relief including U visas.",
}
HOURS = [("MO,TU,WE,TH,FR", "09:00", "17:00"), ("MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59"),
         ("MO,TU,WE,TH,FR", "08:00", "20:00"), ("SA,SU", "10:00", "14:00"), (None, None, None)]
LANGUAGES = [("English", "en"), ("Spanish", "es"), ("Vietnamese", "vi"), ("Chinese", "zh"), ("Haitian Creole", "ht")]
FILES = {
    "organizations.csv": ["id", "name", "description"],
    "services.csv": ["id", "organization_id", "name", "description", "status", "fees_description",
                     "minimum_age", "maximum_age"],
    "locations.csv": ["id", "organization_id", "name", "latitude", "longitude"],
    "service_at_location.csv": ["id", "service_id", "location_id"],
    "addresses.csv": ["id", "location_id", "address_1", "city", "state_province", "postal_code", "country",
                      "address_type"],
    "phones.csv": ["id", "service_id", "number", "type"],
    "schedules.csv": ["id", "service_id", "freq", "byday", "opens_at", "closes_at"],
    "languages.csv": ["id", "service_id", "name", "code"],
    "taxonomies.csv": ["id", "name"],
    "taxonomy_terms.csv": ["id", "code", "name", "taxonomy_id"],
    "attributes.csv": ["id", "link_id", "link_entity", "taxonomy_term_id"],
}


def _towns():
    """(cumulative population weights, [(lat, lon, city, state, zip)]) for weighted sampling."""
    gaz = gazetteer()
    zip_of = {}
    for code, (lat, lon, city, state, _tz) in gaz.zips.items():
        zip_of.setdefault(f"{city.lower()}|{state}", code)
    towns, weights, total = [], [], 0
    for key, (name, lat, lon, pop, _tz) in gaz.cities.items():
        if pop < 1000:
            continue
        state = key.split("|")[1]
        total += pop
        weights.append(total)
        towns.append((lat, lon, name, state, zip_of.get(f"{name.lower()}|{state}", "")))
    return weights, towns


def generate(n: int, folder: Path, seed: int = 7) -> Path:
    """Write an HSDS 3.0 CSV datapackage of `n` services into `folder`; returns the folder."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    weights, towns = _towns()
    ident = lambda: str(uuid.UUID(int=rng.getrandbits(128)))  # noqa: E731 - seeded UUIDs
    handles = {name: open(folder / name, "w", newline="", encoding="utf-8") for name in FILES}
    out = {name: csv.writer(f) for name, f in handles.items()}
    try:
        for name, header in FILES.items():
            out[name].writerow(header)
        out["taxonomies.csv"].writerows([["tx-airs", "AIRS/211 Taxonomy"], ["tx-oe", "Open Eligibility"]])
        for tid, code, name, tax, *_ in TERMS + [(*t, None) for t in EXTRA_TERMS]:
            out["taxonomy_terms.csv"].writerow([tid, code, name, "tx-airs" if tax == "airs" else "tx-oe"])
        org_id = None
        for i in range(n):
            if i % 2 == 0:
                org_id = ident()
                out["organizations.csv"].writerow([org_id, f"Benchmark Agency {i // 2}", "A fictional agency."])
            kind = rng.choice(tuple(KIND_WORDS))
            lat, lon, city, state, zip_code = towns[bisect.bisect(weights, rng.random() * weights[-1])]
            lat, lon = lat + rng.uniform(-0.08, 0.08), lon + rng.uniform(-0.08, 0.08)
            sid, lid = ident(), ident()
            status = "inactive" if rng.random() < 0.05 else "active"
            ages = rng.choice([("", ""), ("", ""), ("18", ""), ("12", "24")])
            out["services.csv"].writerow([sid, org_id, f"{city} {rng.choice(KIND_WORDS[kind])} {i}",
                                          DESCRIPTIONS[kind], status, "", *ages])
            out["locations.csv"].writerow([lid, org_id, f"{city} site {i}", f"{lat:.5f}", f"{lon:.5f}"])
            out["service_at_location.csv"].writerow([ident(), sid, lid])
            out["addresses.csv"].writerow([ident(), lid, f"{100 + i % 900} Main Street", city, state, zip_code, "US",
                                           "physical"])
            out["phones.csv"].writerow([ident(), sid, f"(555) 01{i % 100:02d}-{i % 10000:04d}", "voice"])
            byday, opens, closes = rng.choice(HOURS)
            if byday:
                out["schedules.csv"].writerow([ident(), sid, "WEEKLY", byday, opens, closes])
            for lang, code in rng.sample(LANGUAGES, rng.choice([0, 1, 1, 2])):
                out["languages.csv"].writerow([ident(), sid, lang, code])
            if rng.random() < 0.66:
                term = rng.choice([t for t in TERMS if t[4] == kind])
                out["attributes.csv"].writerow([ident(), sid, "service", term[0]])
            if rng.random() < 0.2:
                out["attributes.csv"].writerow([ident(), sid, "service", rng.choice(EXTRA_TERMS)[0]])
    finally:
        for f in handles.values():
            f.close()
    (folder / "datapackage.json").write_text(json.dumps({
        "name": f"benchmark-{n}", "version": "3.0", "profile": "tabular-data-package",
        "resources": [{"name": name[:-4], "path": name} for name in FILES]}, indent=1))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", type=int)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.services, args.folder, args.seed)
    print(args.folder)


if __name__ == "__main__":
    main()
