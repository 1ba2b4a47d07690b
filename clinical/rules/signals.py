"""Systemic and safety signals shown beside the skin flags (pure).

clasi.md section 3 (end) asks to surface, beside skin flares: anti-dsDNA
turning positive, C3/C4 falling below the reference range, new proteinuria
and a recorded SLE diagnosis; section 5 asks to flag ANC < 1.0 x10^9/L and
platelets < 50 x10^9/L. Signals inform a clinician; they never change a CLASI
rule.

Reference ranges are DATA, not code: a site passes its laboratory's ranges.
The defaults are common adult ranges, to be replaced by the local lab's:

=============  =======  ======  ==========  ======================================
test           low      high    unit        note
=============  =======  ======  ==========  ======================================
anti_dsdna     -        10      IU/mL       assay-dependent; many ELISAs: > 10 positive
c3             0.9      1.8     g/L
c4             0.1      0.4     g/L
urine_protein  -        0.15    g/24h       < 150 mg/day
urine_protein  -        0.15    g/L         spot urine total protein
anc            1.0      -       x10^9/L     safety limit (clasi.md section 5), not the
platelets      50       -       x10^9/L     normal range: below it, review the dose
=============  =======  ======  ==========  ======================================

Interpretations (**project rules** where the docs are silent):
- A range includes its limits: a value is out of range when < low or > high.
- A value whose unit is not one the range knows is SKIPPED, never converted
  or compared (50 mg/L is not 50 g/L). Matching ignores spaces and case and
  reads "×" as "x" (IU/ml == IU/mL); other spellings of the same unit are
  listed in the range's `aliases` (10^9/L, G/L, /nL for cell counts). A
  skipped value neither raises a signal nor counts as "within range" for the
  next one.
- Systemic signals mark the START of an abnormal episode, so a chronically
  low C3 raises one signal, not one per draw:
  * anti_dsdna_positive: above range after the previous comparable value was
    within range (the issue: "after being within it"); a first-ever value
    above range is the patient's known state, not a change. "Rising" while
    already positive is not flagged: no threshold for a rise is defined.
  * complement_low (C3 or C4) and proteinuria: out of range when the first
    comparable value, or when the previous comparable value was within range.
  * sle_diagnosis: `sle_diagnosed` on or after the first course start
    ("during or after a course"). `sle=True` without a date cannot be placed
    in time and raises nothing (most such patients had SLE before).
- Safety signals are raised for EVERY value below the limit: each low count
  asks for a decision about the next dose. A positive pregnancy test is a
  safety signal too (lenalidomide is teratogenic, section 5). Creatinine
  clearance needs weight, age and sex, which a timeline does not carry, so
  the kidney check lives where those are known.
"""

from __future__ import annotations

import re

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from clinical.record import LabValue, PatientTimeline

__all__ = [
    "REFERENCE_RANGES",
    "SAFETY_LIMITS",
    "ReferenceRange",
    "Signal",
    "SignalKind",
    "safety_signals",
    "systemic_signals",
]

SignalKind = Literal[
    "anti_dsdna_positive",
    "complement_low",
    "proteinuria",
    "sle_diagnosis",
    "neutropenia",
    "thrombocytopenia",
    "pregnancy_positive",
]

_TEST_NAMES = {
    "anti_dsdna": "anti-dsDNA",
    "c3": "C3",
    "c4": "C4",
    "urine_protein": "Urine protein",
    "anc": "ANC",
    "platelets": "Platelets",
    "pregnancy": "Pregnancy test",
}


# "×10⁹/L" as typed or pre-filled by the visit form reads as "x10^9/L".
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_SUPERSCRIPT_RUN = re.compile(r"(?<=\d)([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)")


def _unit_key(unit: str | None) -> str:
    # Case-insensitive on purpose: within one test no two real units differ only by case.
    text = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group(1), unit or "").translate(_SUPERSCRIPTS)
    return "".join(text.split()).replace("\u00d7", "x").replace("µ", "u").replace("μ", "u").lower()


@dataclass(frozen=True, slots=True)
class ReferenceRange:
    """A test's range in one unit; `low`/`high` None when open on that side."""

    test: str
    low: Decimal | None
    high: Decimal | None
    unit: str
    aliases: tuple[str, ...] = ()  # other spellings of the SAME unit

    def accepts(self, unit: str | None) -> bool:
        key = _unit_key(unit)
        return bool(key) and any(key == _unit_key(u) for u in (self.unit, *self.aliases))

    def below(self, value: Decimal) -> bool:
        return self.low is not None and value < self.low

    def above(self, value: Decimal) -> bool:
        return self.high is not None and value > self.high

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low}-{self.high} {self.unit}"
        if self.high is not None:
            return f"<= {self.high} {self.unit}"
        return f">= {self.low} {self.unit}"


_PER_NANOLITRE = ("10^9/L", "x10^9/L", "x 10^9/L", "10*9/L", "x10E9/L", "G/L", "/nL")

REFERENCE_RANGES: tuple[ReferenceRange, ...] = (
    ReferenceRange("anti_dsdna", None, Decimal("10"), "IU/mL"),
    ReferenceRange("c3", Decimal("0.9"), Decimal("1.8"), "g/L"),
    ReferenceRange("c4", Decimal("0.1"), Decimal("0.4"), "g/L"),
    ReferenceRange("urine_protein", None, Decimal("0.15"), "g/24h", ("g/24 h", "g/d", "g/day")),
    ReferenceRange("urine_protein", None, Decimal("0.15"), "g/L"),
)

SAFETY_LIMITS: tuple[ReferenceRange, ...] = (
    ReferenceRange("anc", Decimal("1.0"), None, "x10^9/L", _PER_NANOLITRE),
    ReferenceRange("platelets", Decimal("50"), None, "x10^9/L", _PER_NANOLITRE),
)


@dataclass(frozen=True, slots=True)
class Signal:
    kind: SignalKind
    date: dt.date
    test: str | None  # None for the SLE diagnosis
    value: Decimal | str | None
    message: str


def _number(value: Decimal | str | int | float | None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _comparable(
    labs: Iterable[LabValue], ranges: Iterable[ReferenceRange], tests: set[str]
) -> list[tuple[LabValue, Decimal, ReferenceRange]]:
    """Lab values of `tests` with a numeric value in a unit a range accepts, in date order."""
    ranges = tuple(ranges)
    found = []
    for lab in sorted(labs, key=lambda lab: (lab.date, lab.test)):
        if lab.test not in tests:
            continue
        number = _number(lab.value)
        reference = next((r for r in ranges if r.test == lab.test and r.accepts(lab.unit)), None)
        if number is None or reference is None:
            continue  # not a number, or a unit we cannot compare: skip, never guess
        found.append((lab, number, reference))
    return found


def _show(lab: LabValue, number: Decimal) -> str:
    return f"{_TEST_NAMES.get(lab.test, lab.test)} {number} {lab.unit or ''}".rstrip()


def systemic_signals(
    timeline: PatientTimeline, ranges: Iterable[ReferenceRange] = REFERENCE_RANGES
) -> list[Signal]:
    """anti-dsDNA turning positive, low C3/C4, new proteinuria, SLE diagnosed on treatment."""
    ranges = tuple(ranges)
    signals: list[Signal] = []
    previous_out: dict[str, bool] = {}  # test -> was the previous comparable value out of range?
    for lab, number, reference in _comparable(
        timeline.labs, ranges, {"anti_dsdna", "c3", "c4", "urine_protein"}
    ):
        if lab.test == "anti_dsdna":
            out = reference.above(number)
            starts = out and previous_out.get(lab.test) is False  # was within range before
            kind: SignalKind = "anti_dsdna_positive"
            words = "above the reference range after being within it"
        elif lab.test in ("c3", "c4"):
            out = reference.below(number)
            starts = out and not previous_out.get(lab.test, False)
            kind = "complement_low"
            words = "below the reference range"
        else:
            out = reference.above(number)
            starts = out and not previous_out.get(lab.test, False)
            kind = "proteinuria"
            words = "above the reference range"
        previous_out[lab.test] = out
        if starts:
            signals.append(
                Signal(
                    kind=kind,
                    date=lab.date,
                    test=lab.test,
                    value=lab.value,
                    message=f"{_show(lab, number)} on {lab.date.isoformat()}: {words} "
                    f"({reference.describe()})",
                )
            )
    signals.extend(_sle_signal(timeline))
    return sorted(signals, key=lambda s: (s.date, s.kind, s.test or ""))


def _sle_signal(timeline: PatientTimeline) -> list[Signal]:
    diagnosed = timeline.sle_diagnosed
    if diagnosed is None or not timeline.courses:
        return []
    first_start = min(c.start for c in timeline.courses)
    if diagnosed < first_start:
        return []  # SLE known before lenalidomide: not a signal of this treatment
    running = any(
        c.start <= diagnosed and (c.end is None or diagnosed <= c.end) for c in timeline.courses
    )
    when = "during a lenalidomide course" if running else "after a lenalidomide course"
    return [
        Signal(
            kind="sle_diagnosis",
            date=diagnosed,
            test=None,
            value=None,
            message=f"SLE diagnosed on {diagnosed.isoformat()}, {when}",
        )
    ]


def safety_signals(
    timeline: PatientTimeline, limits: Iterable[ReferenceRange] = SAFETY_LIMITS
) -> list[Signal]:
    """Every ANC or platelet count below its limit, and every positive pregnancy test."""
    signals: list[Signal] = []
    for lab, number, limit in _comparable(timeline.labs, limits, {"anc", "platelets"}):
        if limit.below(number):
            kind: SignalKind = "neutropenia" if lab.test == "anc" else "thrombocytopenia"
            signals.append(
                Signal(
                    kind=kind,
                    date=lab.date,
                    test=lab.test,
                    value=lab.value,
                    message=f"{_show(lab, number)} on {lab.date.isoformat()}: below "
                    f"{limit.low} {limit.unit}, review the lenalidomide dose",
                )
            )
    for lab in timeline.labs:
        if lab.test == "pregnancy" and str(lab.value).strip().lower() == "positive":
            signals.append(
                Signal(
                    kind="pregnancy_positive",
                    date=lab.date,
                    test=lab.test,
                    value=lab.value,
                    message=f"Positive pregnancy test on {lab.date.isoformat()}: "
                    "lenalidomide is teratogenic",
                )
            )
    return sorted(signals, key=lambda s: (s.date, s.kind, s.test or ""))
