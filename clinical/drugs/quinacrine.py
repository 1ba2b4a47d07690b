"""Quinacrine (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="quinacrine",
    label="Quinacrine",
    atc="P01AX05",
    dose_mg=(Decimal("25"), Decimal("200")),
    frequencies=(1, 2, 7),
)
