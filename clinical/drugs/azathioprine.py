"""Azathioprine (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="azathioprine",
    label="Azathioprine",
    atc="L04AX01",
    dose_mg=(Decimal("25"), Decimal("250")),
    frequencies=(1,),
)
