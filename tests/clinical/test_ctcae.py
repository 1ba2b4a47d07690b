"""clinical.ctcae: the full CTCAE v5.0 term list (clinical/data/ctcae_v5.csv) and its look-ups."""

from __future__ import annotations

from collections import Counter

from clinical import ctcae
from clinical.ctcae import TERMS, all_terms, lookup, other_term, search


def test_the_list_holds_every_one_of_the_837_terms_once():
    terms = all_terms()
    assert len(terms) == 837  # CTCAE v5.0 (NCI, 2017)
    assert len({t.term for t in terms}) == 837 and len({t.meddra_code for t in terms}) == 837
    assert len(TERMS) == 837 and set(TERMS) == {t.term for t in terms}


def test_known_terms_with_their_system_organ_class_and_meddra_code():
    expected = {
        "Neutrophil count decreased": ("Investigations", 10029366),
        "Insomnia": ("Psychiatric disorders", 10022437),
        "Thromboembolic event": ("Vascular disorders", 10043565),
        "Peripheral sensory neuropathy": ("Nervous system disorders", 10034620),
        "Anemia": ("Blood and lymphatic system disorders", 10002272),
        "Rash maculo-papular": ("Skin and subcutaneous tissue disorders", 10037868),
        "Shingles": ("Infections and infestations", 10040555),
    }
    for name, (soc, code) in expected.items():
        term = lookup(name)
        assert term is not None, name
        assert (term.soc, term.meddra_code) == (soc, code), name
    assert lookup("  neutrophil COUNT decreased ") == lookup("Neutrophil count decreased")
    assert lookup("Herpes zoster") is None  # not a CTCAE v5.0 term: a synonym of Shingles


def test_26_system_organ_classes_each_with_its_other_specify_term():
    terms = all_terms()
    socs = Counter(t.soc for t in terms)
    assert len(socs) == 26
    assert socs["Gastrointestinal disorders"] == 122 and socs["Social circumstances"] == 1
    others = [t for t in terms if t.other]
    assert len(others) == 26 and {t.soc for t in others} == set(socs)
    cardiac = other_term("Cardiac disorders")
    assert cardiac is not None and cardiac.term == "Cardiac disorders - Other, specify"
    # CTCAE gives the catch-all the SOC's own MedDRA code.
    assert cardiac.meddra_code == 10007541
    assert not lookup("Insomnia").other


def test_search_by_a_fragment_or_a_synonym_prefix_matches_first():
    # A name that starts with the fragment comes before one that only contains it.
    names = [t.term for t in search("neutrop", limit=None)]
    assert names == ["Neutrophil count decreased", "Febrile neutropenia"]
    assert [t.term for t in search("neutrophil")] == ["Neutrophil count decreased"]
    assert [t.term for t in search("herpes zoster")] == ["Shingles"]
    assert search("insom")[0].term == "Insomnia"
    assert search("   ") == []
    assert len(search("pain", limit=5)) == 5
    # "Other, specify" terms come after the named ones.
    cardiac = [t.term for t in search("cardiac", limit=None)]
    assert cardiac[-1] == "Cardiac disorders - Other, specify"


def test_the_common_terms_come_first_and_are_all_ctcae_terms():
    assert TERMS[: len(ctcae.COMMON_TERMS)] == ctcae.COMMON_TERMS
    assert TERMS[0] == "Anemia" and "Thromboembolic event" in TERMS[:20]
    assert all(lookup(name) is not None for name in ctcae.COMMON_TERMS)
    assert all(lookup(name) is not None for name in ctcae.SYNONYMS)
