"""Aspirin (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="aspirin",
    label="Aspirin",
    atc="B01AC06",
    dose_mg=(Decimal("50"), Decimal("325")),
    frequencies=(1,),
    thromboprophylaxis=True,
)
