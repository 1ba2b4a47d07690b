"""CTCAE v5.0 adverse-event terms offered when an adverse event is recorded.

Plain data, no Django: the visit form offers these as suggestions and the
clinician may still write any term.  The list is the part of CTCAE v5.0
(NCI, 2017) a CLE clinic on lenalidomide, antimalarials or
immunosuppressants meets most: blood counts, thrombosis, skin, infection,
gastrointestinal, neurological and general disorders, spelled exactly as in
CTCAE so that exported records group by term.
"""

from __future__ import annotations

CTCAE_VERSION = "5.0"

TERMS: tuple[str, ...] = (
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
    # Infections and infestations
    "Bronchial infection",
    "Herpes simplex reactivation",
    "Herpes zoster",
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

if len(set(TERMS)) != len(TERMS):  # a duplicate is a typing error in this file
    raise ValueError("clinical.ctcae: duplicate term")
