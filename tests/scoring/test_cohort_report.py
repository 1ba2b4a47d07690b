"""The outcome report on a small hand-built cohort whose answers were worked out by hand.

Six patients, one course each (all dates 2025):

  P1  baseline 10 (01-06), 0 (02-03), 0 on withdrawal 03-03 (remission);
      03-24 CLASI-A 3 -> relapse 21 days = 3 weeks after withdrawal.
  P2  baseline 8, 0 (02-03), 0 on withdrawal 02-17; 04-14 CLASI-A 2 -> 56 days = 8 weeks.
  P3  baseline 12, 5 (02-03: a 58% fall, partial), 6 at withdrawal 03-03
      (inefficacy); 03-31 CLASI-A 6: not >= nadir 5 + 4, no flag.
  P4  baseline 9, 9 at the adverse-event stop 01-20: evaluable, no response.
  P5  baseline 6, 0 at withdrawal 02-17; 03-17 still 0: withdrawn in CR, no relapse.
  P6  no baseline (first CLASI 02-03, course from 01-06, running): not evaluable.

By hand: patients 6, courses 6, evaluable 5 (P1-P5), stopped for an adverse
event 1 (P4), complete 3 (P1 P2 P5), partial 1 (P3), improved 4, CR rate
3/5 = 0.6, withdrawn in CR 3 (P1 P2 P5), all 3 followed (a CLASI after the
withdrawal inside the watch), relapsed 2 (P1 P2), relapse rate 2/3 = 0.667, weeks to relapse 3 / (3+8)/2 = 5.5 / 8, mean baseline CLASI-A
(10+8+12+9+6)/5 = 9.0; flags P1 03-24 (3 weeks, A 3) and P2 04-14 (8 weeks, A 2).

The paper's sections, by hand:
- per patient: evaluable 5, in CR 3 (P1 P2 P5), 3/5 = 0.6.
- weeks to improvement (first CLASI meeting the MCID, improved courses P1 P2 P3
  P5): 02-03 is day 28 -> 4, 4, 4 (P3: 12 -> 5), P5 02-17 day 42 -> 6:
  min 4, median 4, max 6. Weeks to CR (P1 P2 P5): 4, 4, 6 -> 4 / 4 / 6.
- CLASI-A by week: 0: (10+8+12+9+6)/5 = 9.0, n 5. Week 2 (01-20 +-7 days):
  P4's 01-20 (9) only -> 9.0, n 1. Week 4 (02-03 +-7): P1 0, P2 0, P3 5 ->
  5/3 = 1.67 -> 1.7, n 3 (P5's 02-17 is 14 days off). Weeks 12 and 24: the
  visits then are after the withdrawals (not on treatment): null, n 0.
- CLASI-D: the exams carry no damage items: 0.0 and 0.0.
- dose: all 5 evaluable courses peak at 5 mg/day -> {"5": 5}.
- adverse events none; SLE 0.
- follow-up from 01-06 to the last visit: P1 03-24 77 days -> 11, P2 04-14 98
  -> 14, P3 03-31 84 -> 12, P4 01-20 14 -> 2, P5 03-17 70 -> 10, P6 02-03 28
  -> 4; sorted 2 4 10 11 12 14: min 2, median (10+11)/2 = 10.5, max 14.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from patients.exchange import import_document


def _exam(activity: int) -> dict:
    """An exam with this CLASI-A: erythema 3 per area, in form order, then scale."""
    areas: dict = {}
    order = ["scalp", "ears", "nose_malar", "rest_of_face", "v_neck", "chest"]
    left = activity
    for area in order:
        if left == 0:
            break
        e = min(3, left)
        areas[area] = {"erythema": e}
        left -= e
    return {"areas": areas}


def _patient(
    code: str, start: str, end: str | None, reason: str | None, visits: list[tuple[str, int]]
) -> dict:
    course = {
        "drug": "lenalidomide",
        "start": start,
        "doses": [{"date": start, "mg": 5, "every_days": 1}],
    }
    if end:
        course.update(end=end, stop_reason=reason)
    return {
        "code": code,
        "sex": "F",
        "courses": [course],
        "visits": [{"date": d, "clasi": _exam(a)} for d, a in visits],
    }


HAND_COHORT = {
    "format": "cle-tracker/1",
    "clinic": "Hand-built clinic",
    "patients": [
        _patient(
            "P1",
            "2025-01-06",
            "2025-03-03",
            "remission",
            [("2025-01-06", 10), ("2025-02-03", 0), ("2025-03-03", 0), ("2025-03-24", 3)],
        ),
        _patient(
            "P2",
            "2025-01-06",
            "2025-02-17",
            "remission",
            [("2025-01-06", 8), ("2025-02-03", 0), ("2025-02-17", 0), ("2025-04-14", 2)],
        ),
        _patient(
            "P3",
            "2025-01-06",
            "2025-03-03",
            "inefficacy",
            [("2025-01-06", 12), ("2025-02-03", 5), ("2025-03-03", 6), ("2025-03-31", 6)],
        ),
        _patient(
            "P4",
            "2025-01-06",
            "2025-01-20",
            "adverse_event",
            [("2025-01-06", 9), ("2025-01-20", 9)],
        ),
        _patient(
            "P5",
            "2025-01-06",
            "2025-02-17",
            "remission",
            [("2025-01-06", 6), ("2025-02-17", 0), ("2025-03-17", 0)],
        ),
        _patient("P6", "2025-01-06", None, None, [("2025-02-03", 4)]),
    ],
}

EXPECTED = {
    "drug": "lenalidomide",
    "patients": 6,
    "courses": 6,
    "evaluable_courses": 5,
    "stopped_for_adverse_event": 1,
    "improved": 4,
    "complete_response": 3,
    "partial_response": 1,
    "complete_response_rate": 0.6,
    "patients_evaluable": 5,
    "patients_complete_response": 3,
    "patient_complete_response_rate": 0.6,
    "withdrawn_in_complete_response": 3,
    "followed_after_withdrawal_in_cr": 3,
    "relapsed_after_withdrawal": 2,
    "relapse_rate": 0.667,
    "weeks_to_relapse": {"min": 3, "median": 5.5, "max": 8},
    "weeks_to_improvement": {"min": 4, "median": 4, "max": 6},
    "weeks_to_complete_response": {"min": 4, "median": 4, "max": 6},
    "mean_baseline_activity": 9.0,
    "mean_activity_by_week": {
        "0": {"mean": 9.0, "n": 5},
        "2": {"mean": 9.0, "n": 1},
        "4": {"mean": 1.7, "n": 3},
        "12": {"mean": None, "n": 0},
        "24": {"mean": None, "n": 0},
    },
    "mean_baseline_damage": 0.0,
    "mean_last_damage": 0.0,
    "max_daily_dose": {"5": 5},
    "adverse_events": [],
    "progressed_to_sle": 0,
    "follow_up_weeks": {"min": 2, "median": 10.5, "max": 14},
    "flags": [
        {
            "patient": "P1",
            "kind": "relapse_after_complete_response",
            "date": "2025-03-24",
            "weeks_after": 3,
            "activity": 3,
        },
        {
            "patient": "P2",
            "kind": "relapse_after_complete_response",
            "date": "2025-04-14",
            "weeks_after": 8,
            "activity": 2,
        },
    ],
}


def run_report(clinic, fmt: str, as_of: str) -> str:
    out = io.StringIO()
    call_command("cohort_report", "--clinic", clinic.name, "--format", fmt, "--as-of", as_of, stdout=out)
    return out.getvalue()


@pytest.fixture
def hand_clinic(db):
    return import_document(json.loads(json.dumps(HAND_COHORT))).clinic


def test_the_json_report_matches_the_hand_computed_answers(hand_clinic):
    report = json.loads(run_report(hand_clinic, "json", "2026-01-01"))
    assert report == EXPECTED
    assert list(report) == list(EXPECTED)  # the documented key order


def test_the_text_report_shows_the_same_numbers(hand_clinic):
    text = run_report(hand_clinic, "text", "2026-01-01")
    assert "3 of 5 (60.0%)" in text
    assert "2 of 3 (66.7%)" in text
    assert "3 / 5.5 / 8" in text
    assert "P1" in text and "2025-04-14" in text


def test_as_of_reads_the_record_as_it_stood(hand_clinic):
    # On 2025-03-20 P1 has not relapsed yet and P2 neither (04-14). Neither has been
    # seen since the withdrawal (P1 03-03, P2 02-17): lost to follow-up that day; only
    # P5 (0 on 03-17) is followed, relapse-free: 0 of 1.
    report = json.loads(run_report(hand_clinic, "json", "2025-03-20"))
    assert report["relapsed_after_withdrawal"] == 0
    assert report["withdrawn_in_complete_response"] == 3
    assert report["followed_after_withdrawal_in_cr"] == 1
    assert report["relapse_rate"] == 0.0
    assert report["weeks_to_relapse"] == {"min": None, "median": None, "max": None}


def test_unknown_clinic_and_bad_date_are_clear_errors(hand_clinic):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no clinic named"):
        call_command("cohort_report", "--clinic", "Nowhere", "--format", "json")
    with pytest.raises(CommandError, match="--as-of"):
        call_command("cohort_report", "--clinic", hand_clinic.name, "--as-of", "yesterday")


def test_the_report_runs_a_fixed_number_of_queries(db, django_assert_num_queries):
    from clinic.models import Clinic
    from scoring.cohort import clinic_cohort

    small = json.loads(json.dumps(HAND_COHORT))
    small["clinic"], small["patients"] = "Small", small["patients"][:1]
    import_document(small)
    import_document(json.loads(json.dumps(HAND_COHORT)))
    for name in ("Small", "Hand-built clinic"):
        clinic = Clinic.objects.get(name=name)
        # patients, assessments, dose steps, holds, courses, labs, adverse events
        # with their visits' dates (one query): whatever the clinic's size.
        with django_assert_num_queries(7):
            clinic_cohort(clinic, __import__("datetime").date(2026, 1, 1)).report()
