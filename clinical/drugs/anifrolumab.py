"""Anifrolumab (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="anifrolumab",
    label="Anifrolumab",
    atc="L04AG11",
    dose_mg=(Decimal("100"), Decimal("1000")),
    frequencies=(28,),
)
