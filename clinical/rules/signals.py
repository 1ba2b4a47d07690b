"""Systemic and safety signals shown beside the skin flags (pure).

clasi.md section 3 (end) asks to surface, beside skin flares: anti-dsDNA
turning positive or rising, C3/C4 falling below the reference range, new
proteinuria and a recorded SLE diagnosis; section 5.2 asks to grade low
blood counts with CTCAE v5 (grade 2 and worse are safety signals). Signals inform a clinician; they never change a CLASI
rule.

Reference ranges are DATA, not code: a site passes its laboratory's ranges.
The defaults are common adult ranges, to be replaced by the local lab's:

=============  =======  ======  ==========  ======================================
test           low      high    unit        note
=============  =======  ======  ==========  ======================================
anti_dsdna     -        10      IU/mL       assay-dependent; many ELISAs: > 10 positive
c3             0.9      1.8     g/L
c4             0.1      0.4     g/L
urine_protein  -        0.5     g/24h       clasi.md section 3 (EULAR/ACR 2019)
upcr           -        50      mg/mmol     protein/creatinine ratio, same source
anc            1.0      -       10^9/L      SAFETY_LIMITS: the grade 3 limits the trend
platelets      50       -       10^9/L      chart divides by (not the normal range)
=============  =======  ======  ==========  ======================================

Safety signals use CTCAE_LIMITS, the CTCAE v5 grade 2 limits of clasi.md 5.2
(ANC 1.5, platelets 75 x 10^9/L, haemoglobin 10.0 g/dL): below them a count
is graded 2, 3 or 4 (clinical.labs.CTCAE_GRADES).

=============  =======  ======  ==========  ======================================
=============  =======  ======  ==========  ======================================

Interpretations (**project rules** where the docs are silent):
- A range includes its limits: a value is out of range when < low or > high.
- Every comparison uses the canonical value (clinical.labs, clasi.md 5.5):
  g/L and mg/dL complement, cells/uL and 10^9/L counts compare alike. A
  stored value whose unit is not on the test's list has no canonical value:
  it is SKIPPED (shown as entered elsewhere), neither raising a signal nor
  counting as "within range" for the next one.
- Systemic signals mark the START of an abnormal episode, so a chronically
  low C3 raises one signal, not one per draw:
  * anti_dsdna_positive (section 3: "a doubling, or a first value above the
    range"): a value above range that is the first comparable value, or
    follows a value within range (turning positive), or is at least twice
    the previous comparable value while positive (a doubling: rising). A
    positive value that has not doubled raises nothing.
  * complement_low (C3 or C4) and proteinuria: out of range when the first
    comparable value, or when the previous comparable value was within range.
  * sle_diagnosis: `sle_diagnosed` on or after the first course start
    ("during or after a course"). `sle=True` without a date cannot be placed
    in time and raises nothing (most such patients had SLE before).
- Safety signals are raised for EVERY count of CTCAE grade 2 or worse (the
  grade is on the signal): each low count asks for a decision about the next
  dose. Which of them are urgent (grade 3-4 during a course or within 4
  weeks after it) is decided by clinical.rules.worklist.safety_items. A positive pregnancy test is a
  safety signal too (lenalidomide is teratogenic, section 5). Creatinine
  clearance needs weight, age and sex, which a timeline does not carry, so
  the kidney check lives where those are known.
"""

from __future__ import annotations


import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from clinical import labs as lab_table
from clinical.record import Lab, PatientRecord

__all__ = [
    "CTCAE_LIMITS",
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
    "anaemia",
    "pregnancy_positive",
]

_TEST_NAMES = {
    "anti_dsdna": "anti-dsDNA",
    "c3": "C3",
    "c4": "C4",
    "urine_protein": "Urine protein",
    "upcr": "Urine protein/creatinine ratio",
    "anc": "ANC",
    "platelets": "Platelets",
    "hemoglobin": "Haemoglobin",
    "pregnancy": "Pregnancy test",
}


@dataclass(frozen=True, slots=True)
class ReferenceRange:
    """A test's range in its canonical unit (clinical.labs); `low`/`high` None when open."""

    test: str
    low: Decimal | None
    high: Decimal | None

    @property
    def unit(self) -> str:
        return lab_table.LABS[self.test].canonical

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


# In canonical units. Proteinuria: > 0.5 g/24 h or a protein/creatinine ratio
# > 50 mg/mmol (clasi.md section 3, the EULAR/ACR 2019 renal item).
REFERENCE_RANGES: tuple[ReferenceRange, ...] = (
    ReferenceRange("anti_dsdna", None, Decimal("10")),
    ReferenceRange("c3", Decimal("0.9"), Decimal("1.8")),
    ReferenceRange("c4", Decimal("0.1"), Decimal("0.4")),
    ReferenceRange("urine_protein", None, Decimal("0.5")),
    ReferenceRange("upcr", None, Decimal("50")),
)

# The limits the trend chart scales counts by (grade 3 begins below them).
SAFETY_LIMITS: tuple[ReferenceRange, ...] = (
    ReferenceRange("anc", Decimal("1.0"), None),
    ReferenceRange("platelets", Decimal("50"), None),
)

# The CTCAE v5 grade 2 limits (clinical.labs.CTCAE_GRADES): below them a count is graded.
CTCAE_LIMITS: tuple[ReferenceRange, ...] = tuple(
    ReferenceRange(test, limits[-1][1], None) for test, limits in lab_table.CTCAE_GRADES.items()
)


@dataclass(frozen=True, slots=True)
class Signal:
    kind: SignalKind
    date: dt.date
    test: str | None  # None for the SLE diagnosis
    value: Decimal | str | None
    message: str
    grade: int | None = None  # the CTCAE v5 grade of a low count

    @property
    def title(self) -> str:
        """ "Grade 3 neutropenia" (a graded count), else the message."""
        if self.grade is None or self.test is None:
            return self.message
        return f"Grade {self.grade} {lab_table.CYTOPENIA_NAMES[self.test]}"


def _comparable(
    labs: Iterable[Lab], ranges: Iterable[ReferenceRange], tests: set[str]
) -> list[tuple[Lab, Decimal, ReferenceRange]]:
    """Lab values of `tests` with a canonical value and a range, in date order: (lab,
    canonical value, range). A value whose stored unit is off the list has no
    canonical value and is skipped, never guessed."""
    ranges = tuple(ranges)
    found = []
    for lab in sorted(labs, key=lambda lab: (lab.date, lab.test)):
        if lab.test not in tests:
            continue
        number = lab.canonical
        reference = next((r for r in ranges if r.test == lab.test), None)
        if number is None or number.is_nan() or reference is None:
            continue
        found.append((lab, number, reference))
    return found


def _show(lab: Lab, number: Decimal) -> str:
    """The value as entered, and in the canonical unit when that differs."""
    name = _TEST_NAMES.get(lab.test, lab.test)
    entered = f"{name} {_plain(lab.value)} {lab.unit or ''}".rstrip()
    if lab.unit == lab.canonical_unit:
        return entered
    return f"{entered} (= {_plain(number)} {lab.canonical_unit})"


def _plain(value: Decimal | str) -> str:
    if not isinstance(value, Decimal):
        return str(value)
    text = format(value.normalize(), "f")
    return text


def systemic_signals(
    timeline: PatientRecord, ranges: Iterable[ReferenceRange] = REFERENCE_RANGES
) -> list[Signal]:
    """anti-dsDNA turning positive, low C3/C4, new proteinuria, SLE diagnosed on treatment."""
    ranges = tuple(ranges)
    signals: list[Signal] = []
    previous_out: dict[str, bool] = {}  # test -> was the previous comparable value out of range?
    previous_value: dict[str, Decimal] = {}  # test -> the previous comparable value
    for lab, number, reference in _comparable(
        timeline.labs, ranges, {"anti_dsdna", "c3", "c4", "urine_protein", "upcr"}
    ):
        if lab.test == "anti_dsdna":
            out = reference.above(number)
            before = previous_value.get(lab.test)
            kind: SignalKind = "anti_dsdna_positive"
            if not out:
                starts, words = False, ""
            elif before is None:
                starts, words = True, "first value, above the reference range"
            elif not previous_out[lab.test]:
                starts, words = True, "above the reference range after being within it"
            else:
                # Already positive: a doubling of the previous value is a rise worth a look.
                starts = before > 0 and number >= 2 * before
                words = f"doubled since the previous value ({_plain(before)} {reference.unit})"
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
        previous_value[lab.test] = number
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


def _sle_signal(timeline: PatientRecord) -> list[Signal]:
    diagnosed = timeline.sle_diagnosed
    watched = timeline.watched_courses
    if diagnosed is None or not watched:
        return []
    if diagnosed < watched[0].start:
        return []  # SLE known before the watched drug: not a signal of this treatment
    course = timeline.course_on(diagnosed)
    if course is not None:
        when = f"during a {course.label.lower()} course"
    else:
        last = [c for c in watched if c.start <= diagnosed][-1]
        when = f"after a {last.label.lower()} course"
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
    timeline: PatientRecord, limits: Iterable[ReferenceRange] = CTCAE_LIMITS
) -> list[Signal]:
    """Every ANC, platelet or haemoglobin value of CTCAE v5 grade 2 or worse (graded
    from the canonical value), and every positive pregnancy test."""
    signals: list[Signal] = []
    names: dict[str, SignalKind] = {
        "anc": "neutropenia", "platelets": "thrombocytopenia", "hemoglobin": "anaemia"
    }
    for lab, number, limit in _comparable(timeline.labs, limits, set(names)):
        if not limit.below(number):
            continue
        # The grade of the table; a site's stricter limit still reports at least grade 2.
        grade = lab_table.ctcae_grade(lab.test, number) or 2
        kind = names[lab.test]
        signals.append(
            Signal(
                kind=kind,
                date=lab.date,
                test=lab.test,
                value=lab.value,
                # What to do is the safety item's action (clinical.rules.safety): it
                # depends on whether a lenalidomide course was in force that day.
                message=f"{_show(lab, number)} on {lab.date.isoformat()}: CTCAE grade {grade} "
                f"(below {limit.low} {limit.unit})",
                grade=grade,
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
