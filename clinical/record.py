"""The plain data the clinical reasoning works on (pure: no Django import).

A page, a command or a test builds a `PatientTimeline` from whatever store it
has (the lead's selectors turn ORM rows into these) and hands it to
`clinical.rules.response`, `clinical.rules.flares`, `clinical.rules.signals` and `clinical.rules.outcomes`.
Everything here is frozen, hashable and ordered deterministically, so the same
record always gives the same answer.

Dates are `datetime.date`; CLASI totals are ints; doses are `Decimal` mg with
an interval in days, so that "a lower daily amount" (clasi.md section 3) is an
exact comparison of Fractions, never of floats.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "Assessment",
    "Course",
    "DoseStep",
    "LabValue",
    "PatientTimeline",
    "DEFAULT_THRESHOLDS",
    "Thresholds",
    "format_mg",
    "shift",
]


def _check_int(name: str, value: object, minimum: int = 0) -> None:
    # bool is an int subclass; True as a CLASI total or a threshold is a bug upstream.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def shift(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, held at the calendar's ends instead of raising.

    Inputs are bounded where they enter the record; this keeps a watch window
    or a baseline look-back from turning a far-off date into a crash anyway.
    """
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def format_mg(amount: Decimal | Fraction | int) -> str:
    """Display an amount of mg: 10 -> "10", Decimal("2.50") -> "2.5", 10/3 -> "3.33"."""
    if isinstance(amount, Fraction):
        if amount.denominator == 1:
            return str(amount.numerator)
        # Only daily amounts of alternate-day schedules land here (e.g. 10 mg every 3 days).
        amount = Decimal(amount.numerator) / Decimal(amount.denominator)
        return format(amount.quantize(Decimal("0.01")).normalize(), "f")
    return format(Decimal(amount).normalize(), "f")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The site-configurable numbers of clasi.md sections 2 and 3 (**project rules**).

    Defaults are the documented ones: MCID 4 points or 20% (Klein 2011), a
    44-week watch after withdrawal or reduction, a baseline at most 30 days
    before the course start.
    """

    mcid_points: int = 4
    mcid_percent: int = 20
    watch_weeks: int = 44
    baseline_lookback_days: int = 30

    def __post_init__(self) -> None:
        # An MCID of 0 would call "no change" an improvement and flag every visit as
        # worsening; a 0-week watch would silently switch flare detection off.
        _check_int("mcid_points", self.mcid_points, minimum=1)
        _check_int("mcid_percent", self.mcid_percent, minimum=1)
        _check_int("watch_weeks", self.watch_weeks, minimum=1)
        _check_int("baseline_lookback_days", self.baseline_lookback_days)

    @property
    def watch_days(self) -> int:
        return self.watch_weeks * 7


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Assessment:
    """One scored CLASI examination (at most one per visit)."""

    visit_id: str
    date: dt.date
    activity: int
    damage: int

    def __post_init__(self) -> None:
        _check_int("activity", self.activity)
        _check_int("damage", self.damage)


@dataclass(frozen=True, slots=True)
class DoseStep:
    """A dose in force from `date`: `mg` every `every_days` days (1 daily, 2 alternate days)."""

    date: dt.date
    mg: Decimal
    every_days: int = 1

    def __post_init__(self) -> None:
        _check_int("every_days", self.every_days, minimum=1)
        if Fraction(self.mg) < 0:
            raise ValueError(f"mg must not be negative, got {self.mg!r}")

    @property
    def daily_mg(self) -> Fraction:
        """mg per day, exact: 10 mg every 2 days == 5 mg daily (clasi.md section 3)."""
        return Fraction(self.mg) / self.every_days

    @property
    def label(self) -> str:
        """ "10 mg daily", "10 mg every 2 days"."""
        every = "daily" if self.every_days == 1 else f"every {self.every_days} days"
        return f"{format_mg(self.mg)} mg {every}"


@dataclass(frozen=True, slots=True)
class Course:
    """One lenalidomide course; `end` is the withdrawal date (None while it runs)."""

    id: str
    start: dt.date
    end: dt.date | None = None
    stop_reason: str | None = None
    doses: tuple[DoseStep, ...] = ()

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"course {self.id}: end {self.end} is before start {self.start}")
        # Dose steps in date order (stable: two steps on one day keep their given order).
        object.__setattr__(self, "doses", tuple(sorted(self.doses, key=lambda d: d.date)))

    @property
    def ongoing(self) -> bool:
        return self.end is None

    def dose_on(self, day: dt.date | None) -> DoseStep | None:
        """The dose step in force on `day` (the latest step dated on or before it).

        `day=None` means "the last recorded step". A day before the first step
        gives None.
        """
        current = None
        for step in self.doses:
            if day is not None and step.date > day:
                break
            current = step
        return current


@dataclass(frozen=True, slots=True)
class LabValue:
    """One laboratory result. `value` is a Decimal, or a string for `pregnancy`."""

    date: dt.date
    test: str
    value: Decimal | str
    unit: str = ""


@dataclass(frozen=True, slots=True)
class PatientTimeline:
    """Everything the clinical rules need about one patient.

    The constructor normalises the collections to tuples in a fixed order
    (courses by start, assessments and labs by date) and rejects duplicate
    course or visit ids, so callers may pass lists in any order.
    """

    code: str
    courses: tuple[Course, ...] = ()
    assessments: tuple[Assessment, ...] = ()
    labs: tuple[LabValue, ...] = field(default=())
    sle_diagnosed: dt.date | None = None
    sle: bool = False

    def __post_init__(self) -> None:
        courses = tuple(sorted(self.courses, key=lambda c: (c.start, c.id)))
        assessments = tuple(sorted(self.assessments, key=lambda a: (a.date, a.visit_id)))
        labs = tuple(sorted(self.labs, key=lambda lab: (lab.date, lab.test)))
        _unique("course id", [c.id for c in courses], self.code)
        _unique("visit id", [a.visit_id for a in assessments], self.code)
        object.__setattr__(self, "courses", courses)
        object.__setattr__(self, "assessments", assessments)
        object.__setattr__(self, "labs", labs)

    def as_of(self, day: dt.date | None) -> PatientTimeline:
        """The record as it stood on `day` (None: unchanged).

        Drops assessments, labs, dose steps and courses dated after `day`, and
        re-opens a course whose withdrawal date is still to come, so that a
        report "as of" a date is reproducible and a future-dated entry never
        counts as history.
        """
        if day is None:
            return self
        courses = []
        for course in self.courses:
            if course.start > day:
                continue
            doses = tuple(d for d in course.doses if d.date <= day)
            if course.end is not None and course.end > day:
                course = replace(course, end=None, stop_reason=None, doses=doses)
            else:
                course = replace(course, doses=doses)
            courses.append(course)
        return replace(
            self,
            courses=tuple(courses),
            assessments=tuple(a for a in self.assessments if a.date <= day),
            labs=tuple(lab for lab in self.labs if lab.date <= day),
            sle_diagnosed=(
                self.sle_diagnosed
                if self.sle_diagnosed is None or self.sle_diagnosed <= day
                else None
            ),
        )


def _unique(what: str, values: list[str], code: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"patient {code}: duplicate {what} {value!r}")
        seen.add(value)
