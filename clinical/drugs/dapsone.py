"""Dapsone (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="dapsone",
    label="Dapsone",
    atc="J04BA02",
    dose_mg=(Decimal("25"), Decimal("300")),
    frequencies=(1,),
)
