"""Thalidomide: watched like lenalidomide, never overlapping it (clasi.md section 3)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="thalidomide",
    label="Thalidomide",
    atc="L04AX02",
    watched=True,
    exclusive_group="thalidomide_analogues",
    teratogenic=True,
    # CLE: 50-100 mg a day, 25 mg maintenance; 400 mg is the label's ceiling.
    dose_mg=(Decimal("25"), Decimal("400")),
    frequencies=(1, 2, 7),
    pregnancy_prevention=True,
)
