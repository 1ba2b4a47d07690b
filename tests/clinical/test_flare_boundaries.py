"""Boundaries of clasi.md section 3 that issue 5's "Done when" names, beyond test_flares.py.

test_flares.py (the rules engineer's) already pins: exactly 4 points and 20%
above the nadir after a withdrawal, the 44-week end of the withdrawal watch,
a new course ending the watch, a reduction to alternate days and a second
active visit after a relapse. Added here: the same boundaries after a dose
reduction, a second active visit after a worsening, and the shortest watch.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clinical.rules.flares import events, find_flags
from clinical.record import Assessment, Course, DoseStep, PatientRecord

START = dt.date(2021, 3, 1)
CUT = START + dt.timedelta(days=84)  # the dose reduction


def d(n: int, origin: dt.date = START) -> dt.date:
    return origin + dt.timedelta(days=n)


def course(*visits: tuple[dt.date, int], doses=None, end=None, extra=()) -> PatientRecord:
    steps = tuple(doses or (DoseStep(START, Decimal("10")), DoseStep(CUT, Decimal("5"))))
    first = Course("c1", START, end, "remission" if end else None, steps)
    return PatientRecord(
        "B", (first, *extra), tuple(Assessment(f"v{a.isoformat()}", a, s, 0) for a, s in visits)
    )


@pytest.mark.parametrize(
    ("after", "flags"),
    [(24, True), (23, False)],  # nadir 20: 24 is exactly 4 points and exactly 20%; 23 is neither
)
def test_worsening_after_a_reduction_at_exactly_4_points_and_20_percent(after, flags):
    timeline = course((START, 30), (d(42), 20), (CUT, 22), (d(14, CUT), after))
    found = find_flags(timeline)
    assert bool(found) is flags
    if flags:
        (flag,) = found
        assert flag.kind == "worsening_after_dose_reduction" and flag.exploratory
        assert (flag.reference_activity, flag.activity, flag.weeks_after) == (20, 24, 2)


def test_exactly_20_percent_needs_the_4_points_too_after_a_reduction():
    # nadir 30: 36 is 6 points and exactly 20% (flags); 35 is 16.7% (does not).
    assert find_flags(course((START, 40), (d(42), 30), (d(14, CUT), 36)))
    assert find_flags(course((START, 40), (d(42), 30), (d(14, CUT), 35))) == []


def test_a_second_active_visit_after_a_worsening_raises_no_second_flag():
    end = d(120)
    timeline = course(
        (START, 30), (d(42), 10), (end, 10), (d(14, end), 14), (d(28, end), 20), (d(42, end), 30),
        doses=(DoseStep(START, Decimal("10")),), end=end,
    )
    (flag,) = find_flags(timeline)
    assert (flag.kind, flag.date, flag.activity) == ("worsening_after_withdrawal", d(14, end), 14)


def test_the_reduction_watch_ends_44_weeks_after_the_reduction():
    base = ((START, 11), (d(42), 0))
    assert [f.weeks_after for f in find_flags(course(*base, (d(308, CUT), 1)))] == [44]
    assert find_flags(course(*base, (d(309, CUT), 1))) == []


def test_a_reduction_from_daily_to_alternate_days_at_a_lower_daily_amount():
    # 5 mg daily -> 5 mg every 2 days (2.5 mg/day): a reduction; CR at the cut, relapse after.
    doses = (DoseStep(START, Decimal("5")), DoseStep(CUT, Decimal("5"), 2))
    timeline = course((START, 11), (d(42), 0), (d(21, CUT), 1), doses=doses)
    (flag,) = find_flags(timeline)
    assert flag.kind == "relapse_after_dose_reduction" and flag.weeks_after == 3
    # 10 mg every 2 days -> 5 mg daily keeps 5 mg/day: no event, no flag.
    same = (DoseStep(START, Decimal("10"), 2), DoseStep(CUT, Decimal("5")))
    assert [e.kind for e in events(course((START, 11), doses=same))] == []


def test_a_new_course_the_day_after_withdrawal_leaves_a_one_day_watch():
    end = d(120)
    restart = Course("c2", d(1, end), None, None, (DoseStep(d(1, end), Decimal("5")),))
    doses = (DoseStep(START, Decimal("10")),)
    relapse_on_restart_day = course((START, 11), (d(42), 0), (end, 0), (d(1, end), 2), doses=doses, end=end, extra=(restart,))
    (flag,) = find_flags(relapse_on_restart_day)
    assert flag.date == d(1, end) and flag.course_id == "c1"
    later = course((START, 11), (d(42), 0), (end, 0), (d(2, end), 2), doses=doses, end=end, extra=(restart,))
    assert find_flags(later) == []
