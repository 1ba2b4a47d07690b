"""The CLASI examination of exchange-format.md and its answer recomputed by hand.

By hand: erythema 2 + 3 = 5, scale 1, mucosa 0, hair loss 1, alopecia 2 ->
activity 9 (mild); dyspigmentation 1 (not doubled), scarring 1, scalp
scarring 3 -> damage 5. The document's answer says activity 16 / "moderate",
which contradicts its own activity_parts (they sum to 9); its damage 5 is right.
"""

EXAMPLE = {
    "instrument": "CLASI",
    "areas": {
        "scalp": {"erythema": 2, "scale": 1, "dyspigmentation": 0},
        "nose_malar": {"erythema": 3, "scale": 0, "dyspigmentation": 1, "scarring": 1},
    },
    "mucous_membrane": 0,
    "recent_hair_loss": 1,
    "nonscarring_alopecia": 2,
    "scalp_scarring": 3,
    "dyspigmentation_lasts_12_months": False,
}
ANSWER = {
    "instrument": "CLASI",
    "activity": 9,  # by hand: 5 + 1 + 0 + 1 + 2 (the document's 16 is a typo)
    "damage": 5,
    "severity": "mild",
    "activity_parts": {
        "erythema": 5,
        "scale": 1,
        "mucous_membrane": 0,
        "recent_hair_loss": 1,
        "nonscarring_alopecia": 2,
    },
    "damage_parts": {"dyspigmentation": 1, "scarring": 1, "scalp_scarring": 3},
}
