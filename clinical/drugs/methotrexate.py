"""Methotrexate (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="methotrexate",
    label="Methotrexate",
    atc="L04AX03",
    dose_mg=(Decimal("2.5"), Decimal("30")),
    frequencies=(7,),
)
