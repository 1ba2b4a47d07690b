"""Creatinine clearance by Cockcroft-Gault (clasi.md 5.3), pure.

    CrCl (mL/min) = (140 - age) x weight (kg) x (0.85 if female) / (72 x creatinine in mg/dL)

Lenalidomide is cleared by the kidney: below the site's review limit on a
running lenalidomide course the dose is reviewed (clinical.rules.safety).

Readings (**project rules** where 5.3 is silent):
- Creatinine: the latest creatinine result dated on or before `today`, in its
  canonical unit (umol/L) divided by 88.42 to mg/dL (the factor of the lab
  table, clasi.md 5.5). A stored row whose unit is off the list has no
  canonical value: it is not used, and the clearance names it as missing.
- Weight: the latest visit weight dated on or before `today` and no more than
  12 months (365 days) before `today`. An older weight is named, not used.
- Age: whole years on the date of the creatinine (the day the kidney was
  measured), from the birth date.
- Sex: F uses 0.85, M uses 1. X ("other / not stated") is computed with the
  female factor 0.85 and says so: the lower of the two estimates, so a
  clearance near the limit is reviewed rather than missed. Never a guess
  that raises the clearance.
- Missing inputs are named ("no weight in the last 12 months", "no birth
  date", ...); the clearance is then None. Never guessed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from clinical.labs import LABS
from clinical.record import Lab, PatientRecord, shift

__all__ = ["Clearance", "cockcroft_gault", "creatinine_clearance", "CREATININE_MG_DL"]

CREATININE_MG_DL = dict(LABS["creatinine"].units)["mg/dL"]  # 88.42 umol/L per mg/dL
WEIGHT_WINDOW_DAYS = 365  # "the latest weight within 12 months"
FEMALE_FACTOR = Decimal("0.85")


def cockcroft_gault(age: int, weight_kg: Decimal, creatinine_mg_dl: Decimal, female: bool) -> Decimal:
    """The Cockcroft-Gault clearance in mL/min, unrounded."""
    if creatinine_mg_dl <= 0:
        raise ValueError("creatinine must be positive")
    factor = FEMALE_FACTOR if female else Decimal(1)
    return Decimal(140 - age) * Decimal(weight_kg) * factor / (Decimal(72) * Decimal(creatinine_mg_dl))


@dataclass(frozen=True, slots=True)
class Clearance:
    """What the patient page shows: the value, or what is missing, and what it came from."""

    ml_min: Decimal | None  # rounded to 0.1 mL/min; None when not computable
    missing: tuple[str, ...] = ()
    creatinine: Lab | None = None
    creatinine_mg_dl: Decimal | None = None
    weight_kg: Decimal | None = None
    weight_date: dt.date | None = None
    age: int | None = None
    sex_note: str = ""  # how the sex factor was chosen

    @property
    def computable(self) -> bool:
        return self.ml_min is not None

    @property
    def date(self) -> dt.date | None:
        return self.creatinine.date if self.creatinine is not None else None

    @property
    def inputs_text(self) -> str:
        """ "creatinine 1.6 mg/dL (= 141.5 umol/L) on 2026-05-01, weight 70 kg on ..., age 60, female"."""
        parts = []
        if self.creatinine is not None:
            entered = f"{_plain(self.creatinine.value)} {self.creatinine.unit}".strip()
            parts.append(f"creatinine {entered} on {self.creatinine.date.isoformat()}")
        if self.weight_kg is not None and self.weight_date is not None:
            parts.append(f"weight {_plain(self.weight_kg)} kg on {self.weight_date.isoformat()}")
        if self.age is not None:
            parts.append(f"age {self.age}")
        if self.sex_note:
            parts.append(self.sex_note)
        return ", ".join(parts)

    @property
    def missing_text(self) -> str:
        return "; ".join(self.missing)


def _plain(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def creatinine_clearance(record: PatientRecord, today: dt.date) -> Clearance:
    """The clearance from the latest creatinine and weight (see the module's readings)."""
    missing: list[str] = []
    creatinines = [lab for lab in record.labs if lab.test == "creatinine" and lab.date <= today]
    creatinine = creatinines[-1] if creatinines else None
    mg_dl = None
    if creatinine is None:
        missing.append("no creatinine recorded")
    elif creatinine.canonical is None or creatinine.canonical <= 0:
        missing.append(
            f"the latest creatinine ({creatinine.date.isoformat()}) has a unit off the list "
            f"({creatinine.unit or 'none'}): correct it"
        )
    else:
        mg_dl = creatinine.canonical / CREATININE_MG_DL

    weights = [(day, kg) for day, kg in record.weights if day <= today]
    weight_date, weight = weights[-1] if weights else (None, None)
    if weight_date is None:
        missing.append("no weight recorded")
        weight = None
    elif weight_date < shift(today, -WEIGHT_WINDOW_DAYS):
        missing.append(f"no weight in the last 12 months (last {weight_date.isoformat()})")
        weight, weight_date = None, None

    age = None
    if record.birth_date is None:
        missing.append("no birth date")
    else:
        age = _age(record.birth_date, creatinine.date if creatinine is not None else today)

    female = record.sex in ("F", "X")
    sex_note = {"F": "female (x 0.85)", "M": "male"}.get(
        record.sex, "sex not stated: female factor 0.85 used (the lower estimate)"
    )
    if missing:
        return Clearance(None, tuple(missing), creatinine, mg_dl, weight, weight_date, age, sex_note)
    assert mg_dl is not None and weight is not None and age is not None
    value = cockcroft_gault(age, weight, mg_dl, female).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return Clearance(value, (), creatinine, mg_dl, weight, weight_date, age, sex_note)
