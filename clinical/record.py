"""The plain data the clinical reasoning works on (pure: no Django import).

A page, a command or a test builds a `PatientRecord` from whatever store it
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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from clinical import labs as lab_table
from clinical.drugs import registry as drugs
from clinical.drugs.profile import FREQUENCIES, DrugProfile
from clinical.instruments.registry import get_instrument

__all__ = [
    "AdverseEvent",
    "Assessment",
    "Course",
    "DoseStep",
    "History",
    "Interruption",
    "Lab",
    "PatientRecord",
    "Treatment",
    "Visit",
    "treatments_text",
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
    """One scored examination (at most one per visit) with its instrument.

    `items` is the examination as stored (the exchange format's object), kept
    for the export and left out of comparisons: the rules read the totals.
    """

    visit_id: str
    date: dt.date
    activity: int
    damage: int
    instrument: str = "CLASI"
    items: Mapping | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        _check_int("activity", self.activity)
        _check_int("damage", self.damage)

    @property
    def severity(self) -> str:
        """The instrument's band of the activity ("mild", "moderate", "severe")."""
        return get_instrument(self.instrument).severity_band(self.activity).key


@dataclass(frozen=True, slots=True)
class DoseStep:
    """A dose in force from `date`: `mg` every `every_days` days (1 daily, 2 alternate days)."""

    date: dt.date
    mg: Decimal
    every_days: int = 1
    id: str = field(default="", compare=False)  # the stored row's id, for links

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
        """ "10 mg daily", "10 mg alternate days", "15 mg weekly" (the registry's words)."""
        every = FREQUENCIES.get(self.every_days) or f"every {self.every_days} days"
        return f"{format_mg(self.mg)} mg {every}"


# Why a course stopped (exchange-format.md); the model's choices follow this list.
STOP_REASONS: dict[str, str] = {
    "remission": "Remission",
    "adverse_event": "Adverse event",
    "inefficacy": "Inefficacy",
    "patient_choice": "Patient's choice",
    "pregnancy_wish": "Pregnancy wish",
    "relapse": "Relapse",
    "other": "Other",
}


@dataclass(frozen=True, slots=True)
class Interruption:
    """A hold within a course, from `start` until `end` (the day the drug was resumed).

    Neither a withdrawal nor a reduction (clasi.md section 3): the course runs
    through it. `end` None: still on hold.
    """

    start: dt.date
    end: dt.date | None = None
    reason: str = ""
    id: str = field(default="", compare=False)  # the stored row's id, for links

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"interruption: end {self.end} is before start {self.start}")

    def holds(self, day: dt.date) -> bool:
        """On hold on `day`: from the start up to, not including, the day of resumption."""
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class Course:
    """One course of one drug of the registry; `end` is the withdrawal date (None while it runs).

    `drug` is a registry key (clinical.drugs.registry); `drug_name` names the
    drug of an `other` course. Existing callers that know only lenalidomide
    keep working: it is the default.
    """

    id: str
    start: dt.date
    end: dt.date | None = None
    stop_reason: str | None = None
    doses: tuple[DoseStep, ...] = ()
    drug: str = "lenalidomide"
    drug_name: str = ""
    interruptions: tuple[Interruption, ...] = ()
    # The stored row's edit version (optimistic locking of the course forms): not clinical.
    version: int = field(default=1, compare=False)

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"course {self.id}: end {self.end} is before start {self.start}")
        drugs.get(self.drug)  # UnknownDrug: the record holds registry drugs only
        # Dose steps and interruptions in date order (stable for equal dates).
        object.__setattr__(self, "doses", tuple(sorted(self.doses, key=lambda d: d.date)))
        object.__setattr__(
            self, "interruptions", tuple(sorted(self.interruptions, key=lambda i: i.start))
        )

    @property
    def profile(self) -> DrugProfile:
        return drugs.get(self.drug)

    @property
    def watched(self) -> bool:
        """Raises flags, ends watches and bounds baselines (clasi.md section 3)."""
        return self.profile.watched

    @property
    def label(self) -> str:
        """The drug as a clinician reads it: the registry label, or the free-text name."""
        return self.drug_name if self.profile.needs_name and self.drug_name else self.profile.label

    @property
    def ongoing(self) -> bool:
        return self.end is None

    @property
    def stop_reason_label(self) -> str:
        return STOP_REASONS.get(self.stop_reason or "", self.stop_reason or "")

    def in_force(self, day: dt.date) -> bool:
        """Started on or before `day` and not withdrawn before it (the end day counts)."""
        return self.start <= day and (self.end is None or day <= self.end)

    def stopped_by(self, day: dt.date) -> bool:
        """Withdrawn on or before `day` (the withdrawal date starts the time off the drug)."""
        return self.end is not None and self.end <= day

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

    def interruption_on(self, day: dt.date) -> Interruption | None:
        """The hold in force on `day`, if any."""
        return next((i for i in self.interruptions if i.holds(day)), None)

    def on_hold(self, day: dt.date) -> bool:
        return self.in_force(day) and self.interruption_on(day) is not None

    def as_of(self, day: dt.date) -> Course:
        """The course as it stood on `day` (assumes it had started): later steps and holds
        dropped, a withdrawal or resumption still to come re-opened."""
        holds = tuple(
            i if i.end is None or i.end <= day else replace(i, end=None)
            for i in self.interruptions
            if i.start <= day
        )
        doses = tuple(d for d in self.doses if d.date <= day)
        if self.end is not None and self.end > day:
            return replace(self, end=None, stop_reason=None, doses=doses, interruptions=holds)
        return replace(self, doses=doses, interruptions=holds)


@dataclass(frozen=True, slots=True)
class Lab:
    """One laboratory result: the value as entered, its unit and the canonical value.

    `value` is a Decimal, or for `pregnancy` the word (`negative` / `positive`).
    `canonical` is `value` in the test's canonical unit (clinical.labs); None
    for the pregnancy test and for a stored unit outside the test's list (an
    old row, migrated later): such a value stays out of every rule and chart
    and is shown as entered.
    """

    date: dt.date
    test: str
    value: Decimal | str
    unit: str = ""
    canonical: Decimal | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "canonical", _canonical(self.test, self.value, self.unit))

    @property
    def canonical_unit(self) -> str:
        lab = lab_table.LABS.get(self.test)
        return lab.canonical if lab is not None else ""


def _canonical(test: str, value: Decimal | str, unit: str) -> Decimal | None:
    if test not in lab_table.LABS or not isinstance(value, (Decimal, int)):
        return None
    if not lab_table.LABS[test].numeric:
        return None
    try:
        return lab_table.canonical_value(test, Decimal(value), unit)
    except lab_table.UnknownUnit:
        return None


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    """A CTCAE-graded event; `term` "other" carries its words in `term_other`.

    `attribution` (unrelated .. definite) and `action` (none, dose_reduced,
    interrupted, withdrawn) are "" when not recorded (exchange-format.md).
    """

    term: str
    grade: int
    term_other: str = ""
    attribution: str = ""
    action: str = ""

    @property
    def term_text(self) -> str:
        return f"Other: {self.term_other}" if self.term == "other" else self.term


@dataclass(frozen=True, slots=True)
class Visit:
    """A visit's own facts (its assessment and labs are in the record's lists)."""

    id: str
    date: dt.date
    weight_kg: Decimal | None = None
    note: str = ""
    adverse_events: tuple[AdverseEvent, ...] = ()
    clinician: str = ""  # who examined (username); not read by any rule


@dataclass(frozen=True, slots=True)
class History:
    """Thrombosis and neuropathy history (clasi.md 5.4); None / "" means not known."""

    vte: bool | None = None
    antiphospholipid: str = ""  # positive / negative / unknown; "" not recorded
    oestrogen_contraception: bool | None = None
    thalidomide_neuropathy: bool | None = None
    note: str = ""

    @property
    def known(self) -> bool:
        return self != History()


@dataclass(frozen=True, slots=True)
class Treatment:
    """A course in force on a given day: its dose step then and its hold, if any."""

    course: Course
    dose: DoseStep | None
    hold: Interruption | None

    @property
    def on_hold(self) -> bool:
        return self.hold is not None

    @property
    def text(self) -> str:
        """ "Lenalidomide 10 mg daily", "Lenalidomide 5 mg daily (on hold)"."""
        dose = self.dose.label if self.dose is not None else "dose not recorded"
        return f"{self.course.label} {dose}{' (on hold)' if self.on_hold else ''}"


def treatments_text(treatments: tuple[Treatment, ...]) -> str:
    """ "Lenalidomide 10 mg daily; Hydroxychloroquine 200 mg daily", or "none"."""
    return "; ".join(t.text for t in treatments) or "none"


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """Everything the clinical rules, charts, export and CSV need about one patient.

    The constructor normalises the collections to tuples in a fixed order
    (courses by start, assessments, labs and visits by date) and rejects
    duplicate course or visit ids, so callers may pass lists in any order.
    """

    code: str
    courses: tuple[Course, ...] = ()
    assessments: tuple[Assessment, ...] = ()
    labs: tuple[Lab, ...] = ()
    sle_diagnosed: dt.date | None = None
    sle: bool = False
    sex: str = ""
    birth_date: dt.date | None = None
    reproductive_potential: bool = False
    history: History = History()
    visits: tuple[Visit, ...] = ()
    name: str = ""
    note: str = ""
    cle_subtypes: tuple[str, ...] = ()
    id: str = ""

    def __post_init__(self) -> None:
        courses = tuple(sorted(self.courses, key=lambda c: (c.start, c.id)))
        assessments = tuple(sorted(self.assessments, key=lambda a: (a.date, a.visit_id)))
        labs = tuple(sorted(self.labs, key=lambda lab: (lab.date, lab.test)))
        visits = tuple(sorted(self.visits, key=lambda v: (v.date, v.id)))
        _unique("course id", [c.id for c in courses], self.code)
        _unique("visit id", [a.visit_id for a in assessments], self.code)
        object.__setattr__(self, "courses", courses)
        object.__setattr__(self, "assessments", assessments)
        object.__setattr__(self, "labs", labs)
        object.__setattr__(self, "visits", visits)
        object.__setattr__(self, "cle_subtypes", tuple(self.cle_subtypes))

    # -- courses on a day, and their kin: the one place these are written ----------

    @property
    def watched_courses(self) -> tuple[Course, ...]:
        """Courses of watched drugs (clasi.md section 3), in start order."""
        return tuple(c for c in self.courses if c.watched)

    def courses_of(self, drug: str) -> tuple[Course, ...]:
        return tuple(c for c in self.courses if c.drug == drug)

    def courses_on(self, day: dt.date) -> tuple[Course, ...]:
        """Every course in force on `day`, any drug, in start order (holds included)."""
        return tuple(c for c in self.courses if c.in_force(day))

    def course_on(self, day: dt.date) -> Course | None:
        """The watched course in force on `day` (watched courses never overlap)."""
        return next((c for c in self.watched_courses if c.in_force(day)), None)

    def previous_watched(self, course: Course) -> Course | None:
        """The watched course that started last before `course` (its baseline boundary)."""
        earlier = [c for c in self.watched_courses if c.start < course.start and c.id != course.id]
        return earlier[-1] if earlier else None

    def next_watched(self, course: Course) -> Course | None:
        """The first watched course that starts after `course` starts (it ends a watch)."""
        return next(
            (c for c in self.watched_courses if c.start > course.start and c.id != course.id),
            None,
        )

    def on_hold(self, day: dt.date) -> tuple[Course, ...]:
        """Courses in force on `day` whose drug is on hold that day."""
        return tuple(c for c in self.courses_on(day) if c.on_hold(day))

    def treatments_on(self, day: dt.date) -> tuple[Treatment, ...]:
        """What the patient was taking on `day`: every course in force, watched drugs
        first, with its dose and hold. The patient page, the chart and the CSV
        all say it with this."""
        found = [Treatment(c, c.dose_on(day), c.interruption_on(day)) for c in self.courses_on(day)]
        return tuple(sorted(found, key=lambda t: (not t.course.watched, t.course.start)))

    @property
    def weights(self) -> tuple[tuple[dt.date, Decimal], ...]:
        """(date, kg) of every visit with a recorded weight, in date order."""
        return tuple((v.date, v.weight_kg) for v in self.visits if v.weight_kg is not None)

    def as_of(self, day: dt.date | None) -> PatientRecord:
        """The record as it stood on `day` (None: unchanged).

        Drops assessments, labs, visits, dose steps, holds and courses dated
        after `day`, and re-opens a course (or a hold) whose end is still to
        come, so that a report "as of" a date is reproducible and a
        future-dated entry never counts as history.
        """
        if day is None:
            return self
        return replace(
            self,
            courses=tuple(c.as_of(day) for c in self.courses if c.start <= day),
            assessments=tuple(a for a in self.assessments if a.date <= day),
            labs=tuple(lab for lab in self.labs if lab.date <= day),
            visits=tuple(v for v in self.visits if v.date <= day),
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
