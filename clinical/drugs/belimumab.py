"""Belimumab (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="belimumab",
    label="Belimumab",
    atc="L04AG04",
    dose_mg=(Decimal("200"), Decimal("1500")),
    frequencies=(7, 28),
)
