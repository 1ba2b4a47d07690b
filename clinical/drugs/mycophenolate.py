"""Mycophenolate mofetil (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="mycophenolate",
    label="Mycophenolate mofetil",
    atc="L04AA06",
    dose_mg=(Decimal("250"), Decimal("3000")),
    frequencies=(1,),
)
