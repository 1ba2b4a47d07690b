"""Prednisone (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="prednisone",
    label="Prednisone",
    atc="H02AB07",
    dose_mg=(Decimal("1"), Decimal("100")),
    frequencies=(1, 2),
)
