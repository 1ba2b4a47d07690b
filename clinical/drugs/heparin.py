"""Heparin (incl. low-molecular-weight) (recorded and drawn on the trend; not watched for flares)."""

from decimal import Decimal

from clinical.drugs.profile import DrugProfile

PROFILE = DrugProfile(
    key="heparin",
    label="Heparin (incl. low-molecular-weight)",
    atc="B01AB",
    dose_mg=(Decimal("10"), Decimal("300")),
    frequencies=(1,),
    thromboprophylaxis=True,
)
