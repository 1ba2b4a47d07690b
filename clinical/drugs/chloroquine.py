"""Chloroquine (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="chloroquine",
    label="Chloroquine",
    atc="P01BA01",
    dose_mg=(Decimal("50"), Decimal("500")),
    frequencies=(1, 2, 7),
)
