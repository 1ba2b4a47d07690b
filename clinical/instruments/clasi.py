"""CLASI, 2005 form (Albrecht 2005), as data: areas, items, values, labels, N/A cells.

One definition file per instrument; clinical/instruments/registry.py lists them.
"""

from __future__ import annotations

from clinical.instruments.instrument import (
    ACTIVITY,
    DAMAGE,
    Area,
    Cell,
    Instrument,
    Modifier,
    SeverityBand,
    frozen_map,
    item,
)


_WORST_LESION = (
    "Score the worst lesion in each area; if the front and back of an area "
    "differ, the higher value counts."
)

SCALP_QUADRANTS_HELP = (
    "Scalp quadrants: the midline splits left from right; the line joining the "
    "highest points of the two ears splits front from back. A quadrant counts "
    "when it holds a lesion."
)

_AREAS = (
    Area("scalp", "Scalp"),
    Area("ears", "Ears"),
    Area("nose_malar", "Nose (including the malar area)"),
    Area("rest_of_face", "Rest of the face"),
    Area("v_neck", "V-area of the neck (front)"),
    Area("post_neck_shoulders", "Back of the neck and/or shoulders"),
    Area("chest", "Chest"),
    Area("abdomen", "Abdomen"),
    Area("back_buttocks", "Back and buttocks"),
    Area("arms", "Arms"),
    Area("hands", "Hands"),
    Area("legs", "Legs"),
    Area("feet", "Feet"),
)

_AREA_ITEMS = (
    item(
        "erythema",
        "Erythema",
        ACTIVITY,
        {
            0: "absent",
            1: "pink, faint",
            2: "red",
            3: "dark red / violaceous / crusted or haemorrhagic",
        },
        help=_WORST_LESION,
    ),
    # Scale is 0-2, not 0-3: the mistake a public calculator makes (clasi.md 1).
    item(
        "scale",
        "Scale / hypertrophy",
        ACTIVITY,
        {0: "absent", 1: "scale", 2: "verrucous / hypertrophic"},
        help=_WORST_LESION,
    ),
    item(
        "dyspigmentation",
        "Dyspigmentation",
        DAMAGE,
        {0: "absent", 1: "present"},
        help="Doubled in the damage score when it usually lasts 12 months or more.",
    ),
    item(
        "scarring",
        "Scarring / atrophy / panniculitis",
        DAMAGE,
        {0: "absent", 1: "scarring", 2: "severely atrophic scarring or panniculitis"},
        help="Not scored on the scalp: scalp scarring is the quadrant item.",
    ),
)

# Items scored once per examination (clasi.md 1.3), never once per area:
# summing mucosa and hair loss in every area is another calculator mistake.
_EXAM_ITEMS = (
    item(
        "mucous_membrane",
        "Mucous membrane lesions",
        ACTIVITY,
        {0: "absent", 1: "lesion or ulceration"},
        help="Scored once per examination.",
    ),
    item(
        "recent_hair_loss",
        "Recent hair loss",
        ACTIVITY,
        {0: "no", 1: "yes"},
        help="Within the last 30 days, as the patient reports. Scored once per examination.",
    ),
    item(
        "nonscarring_alopecia",
        "Non-scarring alopecia",
        ACTIVITY,
        {
            0: "absent",
            1: "diffuse, non-inflammatory",
            2: "focal or patchy in one quadrant",
            3: "focal or patchy in more than one quadrant",
        },
        help="Clinically not obviously scarred. " + SCALP_QUADRANTS_HELP,
    ),
    # 1 and 2 are not valid: one quadrant already scores 3 (clasi.md 1.3).
    item(
        "scalp_scarring",
        "Scarring of the scalp",
        DAMAGE,
        {
            0: "absent",
            3: "one quadrant",
            4: "two quadrants",
            5: "three quadrants",
            6: "the whole skull",
        },
        help="Judged clinically. 1 and 2 are not valid values. " + SCALP_QUADRANTS_HELP,
        body_area="scalp",
    ),
)

CLASI = Instrument(
    name="CLASI",
    version="2005",
    title="Cutaneous Lupus Erythematosus Disease Area and Severity Index",
    help=(
        "Two separate scores, never added together: activity (CLASI-A, 0-70), "
        "inflammation that can go away, and damage (CLASI-D, 0-56), permanent "
        "change. " + _WORST_LESION
    ),
    areas=_AREAS,
    area_items=_AREA_ITEMS,
    exam_items=_EXAM_ITEMS,
    not_applicable=frozenset({("scalp", "scarring")}),
    not_applicable_reasons=frozen_map(
        {("scalp", "scarring"): "not scored on the scalp; use scalp_scarring"}
    ),
    modifier=Modifier(
        key="dyspigmentation_lasts_12_months",
        label="Dyspigmentation usually lasts 12 months or more",
        help=(
            "Yes doubles the dyspigmentation subtotal of the damage score; "
            "no leaves it as it is. Nothing else is doubled."
        ),
        item_key="dyspigmentation",
        factor=2,
    ),
    severity_bands=(
        SeverityBand("mild", "Mild", 0, 9),
        SeverityBand("moderate", "Moderate", 10, 20),
        SeverityBand("severe", "Severe", 21, 70),
    ),
)

