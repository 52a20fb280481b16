"""Service kinds from taxonomy codes, names, parents and keywords."""
import csv

import pytest

from resources.taxonomy.kinds import (
    KIND_MAP_PATH,
    KINDS,
    KindMap,
    TermInfo,
    TermMatch,
    UnknownKindError,
    classify_service,
    classify_term,
    derive_kind_map,
    keyword_kinds,
    normalize_kind,
)


def term(code=None, name=None, taxonomy=None):
    return TermInfo("t", code, name, None, taxonomy)


def test_kind_map_in_the_repo_is_derived_from_the_crosswalk(shared):
    with open(shared.crosswalk, newline="") as f:
        derived = derive_kind_map(csv.DictReader(f))
    assert KindMap.load(KIND_MAP_PATH).entries == derived
    assert {e.kind for e in derived} - {None} == set(KINDS)


@pytest.mark.parametrize("code, kind", [
    ("BH-1800.1500-100", "shelter"),        # listed itself
    ("BH-1800.1500-100.05", "shelter"),     # deeper child of a listed code
    ("RX-8450.7000-350", "substance_use"),  # child of RX-8450.7000
    ("FT-3200.2500", "legal"),              # child of FT-3200
    ("RM-6500.1500-800", "mental_health"),
    ("RP-1500.1400-200", "mental_health"),  # DV hotline: tag domestic_violence, kind via crisis hotlines
    ("BH-1800.8500", "shelter"),
])
def test_airs_codes_inherit_the_nearest_listed_ancestor(code, kind):
    assert set(classify_term(term(code, "x", "AIRS/211 Taxonomy")).kinds) == {kind}


def test_airs_codes_that_are_not_kinds_give_tags_only():
    match = classify_term(term("YX-1500.9000", "Victims of Human Trafficking"))
    assert match.kinds == {} and "trafficking" in match.tags
    assert classify_term(term("BD-1800", "Food Pantries")).kinds == {}
    # A prefix that is not a whole segment is not an ancestor.
    assert classify_term(term("FT-32", "x")).kinds == {}


def test_open_eligibility_by_id_or_by_name():
    assert set(classify_term(term("1180", "Detox", "Open Eligibility")).kinds) == {"substance_use"}
    assert set(classify_term(term("1121", None, "Open Eligibility")).kinds) == {"shelter"}
    assert set(classify_term(term(None, "Counseling")).kinds) == {"mental_health"}
    assert set(classify_term(term("106-01", "Addiction & Recovery")).kinds) == {"substance_use"}
    assert classify_term(term("9999", "Something Else", "Open Eligibility")).kinds == {}


def test_term_without_match_inherits_from_its_parent():
    from resources.taxonomy.kinds import TermClassifier

    classifier = TermClassifier(db=None)
    classifier.remember(TermInfo("parent", "1111", "Legal", None, "Open Eligibility"))
    classifier.remember(TermInfo("child", "9001", "Tenant Rights Clinic", "parent", "Open Eligibility"))
    match = classifier.classify("child")
    assert set(match.kinds) == {"legal"} and "Tenant Rights Clinic" in match.kinds["legal"]


@pytest.mark.parametrize("text, kinds", [
    ("Old Market Survivor Law: free civil legal help and protective orders", {"legal"}),
    ("Immigration attorney for survivors", {"legal"}),
    ("Safe house with emergency housing", {"shelter"}),
    ("Trauma therapy and counselling", {"mental_health"}),
    ("Detox and alcohol recovery", {"substance_use"}),
    ("Food pantry and clothing closet", set()),
    ("Law enforcement victim liaison", set()),
    ("Credit counseling for families", set()),
    ("Animal shelter adoptions", set()),
])
def test_keyword_fallback(text, kinds):
    assert set(keyword_kinds(text)) == kinds


def test_keywords_only_when_tags_give_no_kind():
    tagged = TermMatch({"mental_health": "taxonomy 1220 Counseling"}, {})
    result = classify_service("Legal Counsel and Shelter", "legal help", [tagged])
    assert result.kinds == {"mental_health": "taxonomy 1220 Counseling"}
    untagged = classify_service("Legal Aid", "legal help", [TermMatch({}, {"trafficking": "t"})])
    assert set(untagged.kinds) == {"legal"} and untagged.kinds["legal"].startswith("keyword")


def test_confidential_flag_for_dv_shelters_or_described_confidential():
    dv = TermMatch({"shelter": "taxonomy BH-1800.1500-100"}, {"shelter_dv": "taxonomy BH-1800.1500-100"})
    assert "confidential_location" in classify_service("Quiet House", "beds", [dv]).tags
    assert "confidential_location" in classify_service("Refuge", "Confidential emergency housing", []).tags
    assert "confidential_location" not in classify_service("City Shelter", "emergency shelter", []).tags
    assert "confidential_location" not in classify_service("Law Office", "confidential legal advice", []).tags


def test_normalize_kind():
    assert normalize_kind("Mental Health") == "mental_health"
    assert normalize_kind("substance-use") == "substance_use"
    with pytest.raises(UnknownKindError):
        normalize_kind("food")


# --- tags -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, name, taxonomy, tags", [
    ("YT-2400.2500", "Gay Men", "AIRS", {"lgbtq_friendly"}),             # child of YT-2400
    ("YK-6600", "Pets", "AIRS", {"takes_pets"}),
    ("YE-9000", "Undocumented People", "AIRS", {"no_ice_contact"}),
    ("YV-3000.3050", "Homeless Men", "AIRS", {"serves_men"}),
    ("YX-1500.9000", "Victims of Human Trafficking", "AIRS", {"trafficking"}),
    ("20014", "Undocumented", "Open Eligibility", {"no_ice_contact"}),
    (None, "LGBTQ", None, {"lgbtq_friendly"}),                            # by name, no code
])
def test_target_population_terms_give_survivor_relevant_tags(code, name, taxonomy, tags):
    assert tags <= set(classify_term(term(code, name, taxonomy)).tags)


@pytest.mark.parametrize("text, fees, present, absent", [
    ("Emergency shelter. Pets welcome.", None, {"takes_pets"}, set()),
    ("Shelter for women and children", None, {"takes_children"}, {"serves_men"}),
    ("Serves men and women of all ages", None, {"serves_men"}, set()),
    ("Help for survivors of sex trafficking", None, {"trafficking"}, set()),
    ("Drug trafficking prevention classes", None, set(), {"trafficking"}),
    ("Immigration help regardless of immigration status; T visa and U visa applications", None,
     {"no_ice_contact", "t_u_visa_help"}, set()),
    ("Counseling", "None.", {"free_or_sliding_scale"}, set()),
    ("Counseling", "Sliding scale fees", {"free_or_sliding_scale"}, set()),
    ("Counseling. Call our toll free line.", "$40 per session", set(), {"free_or_sliding_scale"}),
    ("24-hour crisis line for sexual assault survivors", None, {"crisis", "sexual_assault"}, set()),
])
def test_tags_from_a_service_s_own_words(text, fees, present, absent):
    tags = set(classify_service("Service", text, [], fees=fees).tags)
    assert present <= tags and not absent & tags


def test_a_coded_service_is_not_given_a_kind_by_a_passing_word_in_its_description():
    food_bank = TermMatch({}, {})
    text = "Free breast screening with partners such as places of worship and shelters."
    assert classify_service("Mobile Mammography", text, [food_bank], coded=True).kinds == {}
    assert set(classify_service("Mobile Mammography", text, [], coded=False).kinds) == {"shelter"}
    assert set(classify_service("Family Shelter", text, [food_bank], coded=True).kinds) == {"shelter"}


def test_a_shelter_for_dv_survivors_by_its_own_words_is_confidential():
    result = classify_service("Harbor House", "Emergency shelter for people fleeing domestic violence", [])
    assert result.tags["confidential_location"].startswith("domestic_violence shelter: keyword")
