"""Hydroxychloroquine (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="hydroxychloroquine",
    label="Hydroxychloroquine",
    atc="P01BA02",
    dose_mg=(Decimal("100"), Decimal("600")),
    frequencies=(1, 2, 7),
)
