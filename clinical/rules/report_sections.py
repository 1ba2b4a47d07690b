"""The outcome report's paper-style sections (pure): what the Vall d'Hebron paper reports.

exchange-format.md "The outcome report" defines each key; this module computes
the ones the paper added (per-patient counts, times to response, CLASI-A by
week, CLASI-D, dose reached, adverse events, progression to SLE, follow-up),
plus two page-only tables (Table 1 and immunology) that have no report key.

Input: one `CourseFacts` per course of the report's drug, built by
`clinical.rules.outcomes` from the rules it ran once (the record as of the
report day, the course and its `CourseResponse`). Nothing here re-runs the
flare rules, and nothing reads a clock: `today` comes in.

Exact arithmetic (ints, Fractions) until the end: rates to 3 decimals and
means to 1, half-up (`outcomes.round_half_up`); medians unrounded; an empty
range is all null, a zero denominator is null.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from clinical import labs as lab_table
from clinical.record import (
    DEFAULT_THRESHOLDS,
    Assessment,
    Course,
    PatientRecord,
    Thresholds,
    format_mg,
    shift,
)
from clinical.rules.response import CourseResponse, baseline_bound, interpret

__all__ = [
    "ACTIVITY_WEEKS",
    "AE_WINDOW_DAYS",
    "IMMUNOLOGY_TESTS",
    "SECTION_KEYS",
    "CourseFacts",
    "activity_at_weeks",
    "adverse_events",
    "follow_up_weeks",
    "immunology",
    "max_daily_dose",
    "progressed_to_sle",
    "report_sections",
    "table_one",
]

# The weeks of the paper's CLASI-A table (week 0 is the baseline).
ACTIVITY_WEEKS: tuple[int, ...] = (2, 4, 12, 24)
# A visit counts for week w when it lies within this many days of start + 7w.
ACTIVITY_WEEK_TOLERANCE_DAYS = 7
# Adverse events count from a course's start to this many days after its end.
AE_WINDOW_DAYS = 30
IMMUNOLOGY_TESTS: tuple[str, ...] = ("anti_dsdna", "c3", "c4")

# The keys this module adds to the report, in exchange-format.md order.
SECTION_KEYS: tuple[str, ...] = (
    "patients_evaluable",
    "patients_complete_response",
    "patient_complete_response_rate",
    "weeks_to_improvement",
    "weeks_to_complete_response",
    "mean_activity_by_week",
    "mean_baseline_damage",
    "mean_last_damage",
    "max_daily_dose",
    "adverse_events",
    "progressed_to_sle",
    "follow_up_weeks",
)


@dataclass(frozen=True, slots=True)
class CourseFacts:
    """One course of the report's drug with the rules' answer for it (computed once)."""

    record: PatientRecord  # the patient's record as of the report day
    course: Course
    response: CourseResponse
    treated: tuple[Assessment, ...]  # its on-treatment CLASIs (response.on_treatment), in date order

    @property
    def patient(self) -> str:
        return self.record.code

    @property
    def evaluable(self) -> bool:
        return self.response.evaluable


# ---------------------------------------------------------------- number helpers


def _round(value: Fraction, places: int) -> float:
    from clinical.rules.outcomes import round_half_up  # one rounding rule for the report

    return float(round_half_up(value, places))


def _rate(numerator: int, denominator: int) -> float | None:
    return _round(Fraction(numerator, denominator), 3) if denominator else None


def _mean(values: Sequence[int]) -> float | None:
    return _round(Fraction(sum(values), len(values)), 1) if values else None


def _number(value: Fraction) -> int | float:
    return value.numerator if value.denominator == 1 else float(value)


def min_median_max(weeks: Iterable[int]) -> dict[str, int | float | None]:
    """{"min", "median", "max"} of whole numbers; the median exact and unrounded (4.5)."""
    values = sorted(weeks)
    if not values:
        return {"min": None, "median": None, "max": None}
    middle = len(values) // 2
    median = (
        Fraction(values[middle])
        if len(values) % 2
        else Fraction(values[middle - 1] + values[middle], 2)
    )
    return {"min": values[0], "median": _number(median), "max": values[-1]}


# ---------------------------------------------------------------- response


def patient_counts(courses: Sequence[CourseFacts]) -> dict[str, Any]:
    """Per patient (the paper's "12 of 14"): with an evaluable course / one in CR."""
    evaluable = {c.patient for c in courses if c.evaluable}
    complete = {c.patient for c in courses if c.evaluable and c.response.category == "complete"}
    return {
        "patients_evaluable": len(evaluable),
        "patients_complete_response": len(complete),
        "patient_complete_response_rate": _rate(len(complete), len(evaluable)),
    }


def weeks_to_improvement(
    courses: Sequence[CourseFacts], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[int]:
    """Whole weeks from the start to the first on-treatment CLASI meeting the MCID,
    over the evaluable courses that improved (a CR or PR also improved)."""
    found = []
    for c in courses:
        if not c.evaluable or c.response.category not in ("complete", "partial", "improved"):
            continue
        baseline = c.response.baseline
        assert baseline is not None  # evaluable
        first = next(
            (
                a
                for a in c.treated
                if interpret(baseline.activity, a.activity, thresholds).meets_mcid
            ),
            None,
        )
        # None only under a site MCID stricter than 50% or 100%: a PR or CR that
        # never met it has no time to improvement.
        if first is not None:
            found.append((first.date - c.course.start).days // 7)
    return found


def weeks_to_complete_response(courses: Sequence[CourseFacts]) -> list[int]:
    """Whole weeks from the start to the first on-treatment CLASI-A 0, over the
    evaluable courses whose best response is complete."""
    return [
        c.response.time_to_complete_response_days // 7
        for c in courses
        if c.evaluable
        and c.response.category == "complete"
        and c.response.time_to_complete_response_days is not None
    ]


def activity_at_weeks(courses: Sequence[CourseFacts]) -> dict[str, dict[str, Any]]:
    """Mean CLASI-A of the evaluable courses at baseline and at weeks 2, 4, 12, 24.

    Week w: each course's on-treatment CLASI closest to start + 7w days, within
    7 days either side; of two equally close, the earlier. `n` courses
    contributed; `mean` is null when none did.
    """
    by_week: dict[int, list[int]] = {0: []}
    by_week.update({w: [] for w in ACTIVITY_WEEKS})
    for c in courses:
        if not c.evaluable:
            continue
        assert c.response.baseline is not None
        by_week[0].append(c.response.baseline.activity)
        # (days from the start, activity), in date order (as `treated` is).
        offsets = [((a.date - c.course.start).days, a.activity) for a in c.treated]
        for week in ACTIVITY_WEEKS:
            target = 7 * week
            near = [
                (abs(days - target), days, activity)
                for days, activity in offsets
                if abs(days - target) <= ACTIVITY_WEEK_TOLERANCE_DAYS
            ]
            if near:
                # The closest; of two equally close, the earlier (smaller days).
                by_week[week].append(min(near)[2])
    return {str(w): {"mean": _mean(v), "n": len(v)} for w, v in by_week.items()}


def damage_means(courses: Sequence[CourseFacts]) -> dict[str, float | None]:
    """Mean CLASI-D at the baseline and at the last on-treatment CLASI (evaluable courses)."""
    evaluable = [c.response for c in courses if c.evaluable]
    return {
        "mean_baseline_damage": _mean([r.baseline.damage for r in evaluable if r.baseline]),
        "mean_last_damage": _mean(
            [r.last_on_treatment.damage for r in evaluable if r.last_on_treatment]
        ),
    }


def highest_daily_mg(course: Course) -> Fraction | None:
    """The highest daily amount (mg / every_days) of the course; None without a dose step."""
    return max((d.daily_mg for d in course.doses), default=None)


def max_daily_dose(courses: Sequence[CourseFacts]) -> dict[str, int]:
    """Evaluable courses by their highest daily amount, keyed "2.5", "5", "10"
    (smallest amount first); a course with no dose recorded is left out."""
    counts: dict[Fraction, int] = {}
    for c in courses:
        top = highest_daily_mg(c.course) if c.evaluable else None
        if top is not None:
            counts[top] = counts.get(top, 0) + 1
    return {format_mg(amount): counts[amount] for amount in sorted(counts)}


# ---------------------------------------------------------------- safety and disease


def _ae_window_end(course: Course, today: dt.date | None) -> dt.date | None:
    if course.end is None:
        return today  # running: up to today (None: everything recorded)
    return shift(course.end, AE_WINDOW_DAYS)


def adverse_events(courses: Sequence[CourseFacts], today: dt.date | None) -> list[dict[str, Any]]:
    """Events at visits from a course's start to 30 days after its end (or today),
    by term exactly as recorded: patients with it and the highest grade; most
    patients first, then term. A patient counts once per term, however often."""
    patients: dict[str, set[str]] = {}
    grade: dict[str, int] = {}
    for c in courses:
        end = _ae_window_end(c.course, today)
        for visit in c.record.visits:
            if visit.date < c.course.start or (end is not None and visit.date > end):
                continue
            for event in visit.adverse_events:
                patients.setdefault(event.term, set()).add(c.patient)
                grade[event.term] = max(grade.get(event.term, 0), event.grade)
    rows = [
        {"term": term, "patients": len(who), "max_grade": grade[term]}
        for term, who in patients.items()
    ]
    return sorted(rows, key=lambda r: (-r["patients"], r["term"]))


def _first_starts(courses: Sequence[CourseFacts]) -> dict[str, tuple[PatientRecord, dt.date]]:
    first: dict[str, tuple[PatientRecord, dt.date]] = {}
    for c in courses:
        known = first.get(c.patient)
        if known is None or c.course.start < known[1]:
            first[c.patient] = (c.record, c.course.start)
    return first


def progressed_to_sle(courses: Sequence[CourseFacts]) -> int:
    """Patients whose SLE diagnosis date falls after their first course's start.

    A patient marked SLE without a date is "known" and never counts: the
    record cannot say the diagnosis came after the drug.
    """
    return sum(
        record.sle_diagnosed is not None and record.sle_diagnosed > start
        for record, start in _first_starts(courses).values()
    )


def _last_seen(record: PatientRecord) -> dt.date | None:
    # The last visit with a CLASI, a lab or a visit of the record (the report's
    # records carry the visits with an adverse event only: patients.snapshot).
    # PatientRecord keeps each list in date order: the last of each is enough.
    lasts = [found[-1].date for found in (record.visits, record.assessments, record.labs) if found]
    return max(lasts, default=None)


def follow_up_weeks(courses: Sequence[CourseFacts]) -> list[int]:
    """Per patient with a course: whole weeks from the first course's start to the
    last visit (0 when no visit came after the start)."""
    found = []
    for record, start in _first_starts(courses).values():
        last = _last_seen(record)
        found.append(max(0, (last - start).days) // 7 if last is not None else 0)
    return found


# ---------------------------------------------------------------- the report's keys


def report_sections(
    courses: Sequence[CourseFacts],
    today: dt.date | None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> dict[str, Any]:
    """The keys of SECTION_KEYS, JSON-ready, for these courses of one drug."""
    sections: dict[str, Any] = {
        **patient_counts(courses),
        "weeks_to_improvement": min_median_max(weeks_to_improvement(courses, thresholds)),
        "weeks_to_complete_response": min_median_max(weeks_to_complete_response(courses)),
        "mean_activity_by_week": activity_at_weeks(courses),
        **damage_means(courses),
        "max_daily_dose": max_daily_dose(courses),
        "adverse_events": adverse_events(courses, today),
        "progressed_to_sle": progressed_to_sle(courses),
        "follow_up_weeks": min_median_max(follow_up_weeks(courses)),
    }
    assert tuple(sections) == SECTION_KEYS
    return sections


# ---------------------------------------------------------------- page-only tables


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def table_one(courses: Sequence[CourseFacts]) -> dict[str, Any]:
    """The paper's "Table 1" of the patients with a course of the drug: how many,
    women, age at the first course's start (median and range, whole years; those
    with a birth date), and CLE subtypes (patients per subtype, most first)."""
    first = _first_starts(courses)
    ages = [_age(r.birth_date, start) for r, start in first.values() if r.birth_date]
    subtypes: dict[str, int] = {}
    for record, _ in first.values():
        for subtype in dict.fromkeys(record.cle_subtypes):
            subtypes[subtype] = subtypes.get(subtype, 0) + 1
    return {
        "patients": len(first),
        "women": sum(r.sex == "F" for r, _ in first.values()),
        "age": {**min_median_max(ages), "n": len(ages)},
        "subtypes": sorted(subtypes.items(), key=lambda kv: (-kv[1], kv[0])),
        "courses": len(courses),
    }


def _median(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    # Without trailing zeros and never in exponent form: 0.90 -> 0.9, 40.0 -> 40.
    normal = Decimal(statistics.median(values)).normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal


def immunology(
    courses: Sequence[CourseFacts],
    today: dt.date | None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[dict[str, Any]]:
    """Anti-dsDNA, C3, C4 (canonical units) at baseline and last on treatment.

    Per course of the drug, the baseline value is the last one from 30 days
    before the start (the CLASI baseline's look-back) up to the start, after
    the previous watched course's withdrawal; the last on treatment is the
    last one after the start up to the end (or today). Only courses with both
    count (paired, as the paper compares them); medians, since titres skew.
    Values whose unit could not be read (no canonical value) stay out.
    """
    rows = []
    for test in IMMUNOLOGY_TESTS:
        before: list[Decimal] = []
        after: list[Decimal] = []
        for c in courses:
            bound = baseline_bound(c.record, c.course)
            earliest = shift(c.course.start, -thresholds.baseline_lookback_days)
            upper = c.course.end if c.course.end is not None else today
            values = [lab for lab in c.record.labs if lab.test == test and lab.canonical is not None]
            base = [
                lab
                for lab in values
                if earliest <= lab.date <= c.course.start and (bound is None or lab.date > bound)
            ]
            last = [
                lab
                for lab in values
                if lab.date > c.course.start and (upper is None or lab.date <= upper)
            ]
            if base and last:
                before.append(base[-1].canonical)
                after.append(last[-1].canonical)
        lab = lab_table.LABS[test]
        rows.append(
            {
                "test": test,
                "label": lab.label,
                "unit": lab.canonical,
                "n": len(before),
                "baseline_median": _median(before),
                "last_median": _median(after),
            }
        )
    return rows
