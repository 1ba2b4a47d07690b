"""Lenalidomide: the drug the project is built around (clasi.md sections 3-5)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="lenalidomide",
    label="Lenalidomide",
    atc="L04AX04",
    watched=True,
    exclusive_group="thalidomide_analogues",
    teratogenic=True,
    # Capsules of 2.5-25 mg; CLE series used 5-10 mg a day.
    dose_mg=(Decimal("2.5"), Decimal("25")),
    frequencies=(1, 2),
    pregnancy_prevention=True,
    blood_count_monitoring=True,
    renal_dose_review=True,
)
