"""Reading a CLASI-A over a course: baseline, MCID, CLASI-50/70, response (pure).

Encodes clasi.md section 2. Every decision is integer or Fraction arithmetic:
"a fall of >= 20%" is `fall * 100 >= 20 * baseline`, so 3 points out of 15 is
exactly 20% and qualifies, with no float rounding to argue about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from clinical.record import DEFAULT_THRESHOLDS, Assessment, Course, PatientRecord, Thresholds, shift

__all__ = [
    "CATEGORIES",
    "CATEGORY_LABELS",
    "Category",
    "CourseResponse",
    "Interpretation",
    "baseline_bound",
    "course_baseline",
    "course_response",
    "interpret",
    "on_treatment",
]

Category = Literal["complete", "partial", "improved", "none"]

# Best first: the order a cohort table or a legend lists them in.
CATEGORIES: tuple[Category, ...] = ("complete", "partial", "improved", "none")
CATEGORY_LABELS: dict[Category, str] = {
    "complete": "Complete response",
    "partial": "Partial response",
    "improved": "Improved",
    "none": "No response",
}

# Trials apply CLASI-50/70 only when baseline CLASI-A >= 10 (clasi.md section 2).
CLASI50_MIN_BASELINE = 10


def _fall_at_least(fall: int, baseline: int, percent: int) -> bool:
    """fall/baseline >= percent%, exactly; never true with a baseline of 0 (no % exists)."""
    return baseline > 0 and fall * 100 >= percent * baseline


@dataclass(frozen=True, slots=True)
class Interpretation:
    """What a current CLASI-A means against a baseline CLASI-A."""

    baseline: int
    current: int
    fall_points: int  # baseline - current; negative when the skin is worse
    fall_percent: Fraction | None  # None when baseline is 0 (no percentage of nothing)
    meets_mcid: bool
    clasi50: bool
    clasi70: bool
    clasi50_applicable: bool  # baseline >= 10: only then do trials report CLASI-50/70
    category: Category

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self.category]


def interpret(
    baseline: int, current: int, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> Interpretation:
    """Interpret `current` CLASI-A against `baseline` CLASI-A (clasi.md section 2).

    - MCID: fall >= `mcid_points` OR fall >= `mcid_percent`% (Klein 2011).
    - CLASI-50/70: fall >= 50% / 70% (False with baseline 0).
    - Category, first that holds: complete (current == 0, including a baseline
      of 0: the skin is clear), partial (**project rule**: >= 50% fall, not
      0; applies whatever the baseline, unlike the trial-only CLASI-50
      applicability), improved (**project rule**: meets the MCID), none.
    """
    for name, value in (("baseline", baseline), ("current", current)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} CLASI-A must be an integer >= 0, got {value!r}")
    fall = baseline - current
    meets_mcid = fall >= thresholds.mcid_points or _fall_at_least(
        fall, baseline, thresholds.mcid_percent
    )
    clasi50 = _fall_at_least(fall, baseline, 50)
    clasi70 = _fall_at_least(fall, baseline, 70)
    if current == 0:
        category: Category = "complete"
    elif clasi50:
        category = "partial"
    elif meets_mcid:
        category = "improved"
    else:
        category = "none"
    return Interpretation(
        baseline=baseline,
        current=current,
        fall_points=fall,
        fall_percent=Fraction(fall * 100, baseline) if baseline else None,
        meets_mcid=meets_mcid,
        clasi50=clasi50,
        clasi70=clasi70,
        clasi50_applicable=baseline >= CLASI50_MIN_BASELINE,
        category=category,
    )


def course_baseline(
    course: Course,
    assessments: Iterable[Assessment],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    after: dt.date | None = None,
) -> Assessment | None:
    """The last CLASI on or before the course start, at most `baseline_lookback_days` before.

    Window: start - 30 days .. start, both inclusive (**project rule**, clasi.md
    section 2). A visit on the start day is the pre-dose baseline. `after`:
    the withdrawal date of the previous watched course (`baseline_bound`); a
    visit on or before it belongs to that course, never to this one.
    """
    earliest = shift(course.start, -thresholds.baseline_lookback_days)
    baseline = None
    for a in _in_order(assessments):
        if earliest <= a.date <= course.start and (after is None or a.date > after):
            baseline = a
    return baseline


def baseline_bound(record: PatientRecord, course: Course) -> dt.date | None:
    """The day a course's baseline must come after: the latest withdrawal of an
    earlier watched course (clasi.md section 2: "after the end of ANY earlier
    course of a watched drug"); None when there is none. Courses of other drugs
    (hydroxychloroquine, aspirin, ...) never bound a baseline.

    Watched courses never overlap, so this is the previous watched course's
    end; taking the latest end of every earlier one keeps the rule true even
    on a record whose courses were entered out of order.
    """
    ends = [
        c.end
        for c in record.watched_courses
        if c.id != course.id and c.start < course.start and c.end is not None
    ]
    return max(ends) if ends else None


def on_treatment(
    course: Course, assessments: Iterable[Assessment], today: dt.date | None = None
) -> tuple[Assessment, ...]:
    """CLASIs after the start date (strictly), up to and including the end date.

    While the course runs the upper bound is `today`; `today=None` means no
    upper bound (every recorded visit after the start), which keeps these
    functions free of the clock: the web layer passes `date.today()`.
    """
    upper = course.end if course.end is not None else today
    return tuple(
        a
        for a in _in_order(assessments)
        if a.date > course.start and (upper is None or a.date <= upper)
    )


@dataclass(frozen=True, slots=True)
class CourseResponse:
    """The response of one course: its best on-treatment CLASI-A against its baseline."""

    course_id: str
    baseline: Assessment | None
    best: Assessment | None  # lowest on-treatment CLASI-A; ties -> the earliest
    interpretation: Interpretation | None  # None unless evaluable
    # Baseline CLASI-A >= 1 and >= 1 on-treatment CLASI (clasi.md section 2): a course
    # started while the skin is clear has nothing to respond to.
    evaluable: bool
    time_to_complete_response_days: int | None  # first on-treatment CLASI-A 0 - start
    last_on_treatment: Assessment | None
    ended_in_complete_response: bool  # course ended and its last on-treatment CLASI-A is 0

    @property
    def category(self) -> Category | None:
        return self.interpretation.category if self.interpretation else None

    @property
    def time_to_complete_response_weeks(self) -> int | None:
        days = self.time_to_complete_response_days
        return None if days is None else days // 7


def course_response(
    course: Course,
    assessments: Iterable[Assessment],
    today: dt.date | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    after: dt.date | None = None,
) -> CourseResponse:
    """Baseline, best response, time to CR and the state at withdrawal of one course.

    `after`: see `course_baseline` (the previous watched course's withdrawal).
    Evaluable (clasi.md section 2, **project rule**): a baseline whose CLASI-A
    is at least 1 and at least one on-treatment CLASI. A course started clear
    (baseline 0) is not evaluable and has no category, so it never counts as a
    complete response; its withdrawal in CR (`ended_in_complete_response`)
    still counts for the relapse figures, which do not depend on a baseline.
    """
    ordered = _in_order(assessments)
    baseline = course_baseline(course, ordered, thresholds, after)
    treated = on_treatment(course, ordered, today)
    # min() keeps the first of equal values, and `treated` is in date order: ties -> earliest.
    best = min(treated, key=lambda a: a.activity) if treated else None
    first_clear = next((a for a in treated if a.activity == 0), None)
    last = treated[-1] if treated else None
    evaluable = baseline is not None and baseline.activity >= 1 and best is not None
    return CourseResponse(
        course_id=course.id,
        baseline=baseline,
        best=best,
        interpretation=(
            interpret(baseline.activity, best.activity, thresholds)
            if evaluable and baseline is not None and best is not None
            else None
        ),
        evaluable=evaluable,
        # Counted even without a baseline: it is measured from the start date alone.
        time_to_complete_response_days=(
            (first_clear.date - course.start).days if first_clear is not None else None
        ),
        last_on_treatment=last,
        ended_in_complete_response=(
            course.end is not None and last is not None and last.activity == 0
        ),
    )


def _in_order(assessments: Iterable[Assessment]) -> tuple[Assessment, ...]:
    # PatientRecord already sorts; sorting again keeps these helpers safe on any iterable.
    return tuple(sorted(assessments, key=lambda a: (a.date, a.visit_id)))
