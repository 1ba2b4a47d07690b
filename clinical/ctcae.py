"""CTCAE v5.0 adverse-event terms offered when an adverse event is recorded.

Plain data, no Django: the visit form offers these as suggestions and the
clinician may still write any term. The full list (837 terms with their MedDRA
code and system organ class) is vendored in clinical/data/ctcae_v5.csv (NCI,
2017, public domain; source and licence in clinical/data/README.md), spelled
exactly as in CTCAE so that exported records group by term.

`TERMS` lists every term, the ones a CLE clinic on lenalidomide, antimalarials
or immunosuppressants meets most first (blood counts, thrombosis, skin,
infection, gastrointestinal, neurological and general disorders), then the
rest in the NCI's order; `search` finds terms by a fragment of their name or a
synonym CTCAE gives ("Herpes zoster" finds "Shingles"); every system organ class
has its "<SOC> - Other, specify" term for anything CTCAE does not name.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

CTCAE_VERSION = "5.0"
DATA_FILE = Path(__file__).with_name("data") / "ctcae_v5.csv"
OTHER_SUFFIX = " - Other, specify"


@dataclass(frozen=True)
class Term:
    """One CTCAE v5.0 term."""

    term: str
    soc: str  # the MedDRA system organ class, as CTCAE prints it
    meddra_code: int

    @property
    def other(self) -> bool:
        """The SOC's catch-all ("Cardiac disorders - Other, specify"): the clinician names the event."""
        return self.term.endswith(OTHER_SUFFIX)


@functools.cache
def all_terms() -> tuple[Term, ...]:
    """Every term of CTCAE v5.0, in the NCI's order (by SOC, then alphabetically)."""
    with DATA_FILE.open(encoding="utf-8", newline="") as f:
        terms = tuple(
            Term(row["term"], row["soc"], int(row["meddra_code"])) for row in csv.DictReader(f)
        )
    names = [t.term.casefold() for t in terms]
    if len(set(names)) != len(names):  # a duplicate is a transcription error in the data file
        raise ValueError(f"{DATA_FILE.name}: duplicate term")
    return terms


# The terms a CLE clinic meets most, offered first (each is checked against the full list).
COMMON_TERMS: tuple[str, ...] = (
    # Blood and lymphatic system disorders; investigations
    "Anemia",
    "Febrile neutropenia",
    "Neutrophil count decreased",
    "Platelet count decreased",
    "White blood cell decreased",
    "Lymphocyte count decreased",
    "Alanine aminotransferase increased",
    "Aspartate aminotransferase increased",
    "Blood bilirubin increased",
    "Creatinine increased",
    "GGT increased",
    "Weight gain",
    "Weight loss",
    # Vascular disorders
    "Thromboembolic event",
    "Hypertension",
    "Hypotension",
    "Vasculitis",
    # Skin and subcutaneous tissue disorders
    "Alopecia",
    "Dry skin",
    "Erythema multiforme",
    "Hyperhidrosis",
    "Photosensitivity",
    "Pruritus",
    "Purpura",
    "Rash acneiform",
    "Rash maculo-papular",
    "Skin hyperpigmentation",
    "Skin hypopigmentation",
    "Skin ulceration",
    "Stevens-Johnson syndrome",
    "Toxic epidermal necrolysis",
    "Urticaria",
    # Infections and infestations ("Shingles" is CTCAE v5's term for herpes zoster)
    "Bronchial infection",
    "Herpes simplex reactivation",
    "Shingles",
    "Lung infection",
    "Sepsis",
    "Skin infection",
    "Upper respiratory infection",
    "Urinary tract infection",
    # Gastrointestinal disorders
    "Abdominal pain",
    "Constipation",
    "Diarrhea",
    "Dyspepsia",
    "Mucositis oral",
    "Nausea",
    "Vomiting",
    # Nervous system and psychiatric disorders
    "Dizziness",
    "Dysgeusia",
    "Headache",
    "Paresthesia",
    "Peripheral motor neuropathy",
    "Peripheral sensory neuropathy",
    "Somnolence",
    "Anxiety",
    "Depression",
    "Insomnia",
    # Musculoskeletal and connective tissue disorders
    "Arthralgia",
    "Back pain",
    "Muscle cramp",
    "Myalgia",
    "Pain in extremity",
    # General disorders
    "Edema limbs",
    "Fatigue",
    "Fever",
    "Flu like symptoms",
    # Respiratory, cardiac, eye, ear, endocrine, metabolism
    "Cough",
    "Dyspnea",
    "Atrial fibrillation",
    "Palpitations",
    "Blurred vision",
    "Dry eye",
    "Retinopathy",
    "Tinnitus",
    "Hypothyroidism",
    "Hyperthyroidism",
    "Hyperglycemia",
    "Hypokalemia",
    "Anorexia",
    # Immune system; injury; reproductive
    "Allergic reaction",
    "Anaphylaxis",
    "Bruising",
    "Irregular menstruation",
)

# Synonyms CTCAE v5.0 itself gives in its navigational notes: what a clinician may type.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "Shingles": ("Herpes zoster",),
    "Belching": ("Burping",),
    "Rash pustular": ("Boil",),
    "Cytomegalovirus infection reactivation": ("CMV",),
    "Epstein-Barr virus infection reactivation": ("EBV",),
    "Muscle cramp": ("Muscle spasm",),
    "Flu like symptoms": ("Flu", "Influenza"),
    "Extrapyramidal disorder": ("Restless legs",),
    "Hyperhidrosis": ("Night sweats", "Diaphoresis"),
    "Dermatitis radiation": ("Radiation induced skin toxicities",),
}


@functools.cache
def _by_name() -> dict[str, Term]:
    return {t.term.casefold(): t for t in all_terms()}


def lookup(name: str) -> Term | None:
    """The CTCAE term spelled `name` (any case, surrounding spaces ignored), else None."""
    return _by_name().get(name.strip().casefold())


def other_term(soc: str) -> Term | None:
    """The "Other, specify" term of a system organ class."""
    return next((t for t in all_terms() if t.other and t.soc == soc), None)


def search(query: str, limit: int | None = 20) -> list[Term]:
    """Terms whose name or CTCAE synonym contains `query` (any case): names that
    start with it first, then other matches, each group in the NCI's order; the
    "Other, specify" terms last. An empty query finds nothing."""
    needle = query.strip().casefold()
    if not needle:
        return []
    ranked: list[tuple[int, int, Term]] = []
    for i, term in enumerate(all_terms()):
        words = [term.term.casefold(), *(s.casefold() for s in SYNONYMS.get(term.term, ()))]
        if any(w.startswith(needle) for w in words):
            rank = 0
        elif any(needle in w for w in words):
            rank = 1
        else:
            continue
        ranked.append((rank + (2 if term.other else 0), i, term))
    found = [t for _, _, t in sorted(ranked, key=lambda r: (r[0], r[1]))]
    return found if limit is None else found[:limit]


def _offered() -> tuple[str, ...]:
    names = {t.term for t in all_terms()}
    unknown = [name for name in COMMON_TERMS if name not in names]
    if unknown or len(set(COMMON_TERMS)) != len(COMMON_TERMS):
        raise ValueError(f"clinical.ctcae: not CTCAE v5.0 terms, or repeated: {unknown}")
    common = set(COMMON_TERMS)
    return COMMON_TERMS + tuple(t.term for t in all_terms() if t.term not in common)


# Every term name, the common ones first: the visit form's suggestions.
TERMS: tuple[str, ...] = _offered()
