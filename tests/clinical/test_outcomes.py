"""exchange-format.md "The outcome report", and the cohort chart datasets.

The cohort below is small enough to compute by hand; every expected number is
derived in the comments, so a wrong number in the code cannot hide behind a
number copied from the code.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinical.rules.outcomes import (
    REPORT_KEYS,
    cohort_report,
    format_text,
    mean_activity_by_week,
    relapse_free_curve,
    round_half_up,
)
from clinical.record import Assessment, Course, DoseStep, PatientRecord, Thresholds

D = dt.date
TODAY = D(2015, 12, 31)


def ymd(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def patient(code: str, courses: list[Course], pairs: list[tuple[str, int]]) -> PatientRecord:
    visits = tuple(Assessment(f"{code}/{d}", ymd(d), a, 0) for d, a in pairs)
    return PatientRecord(code, tuple(courses), visits)


def course(cid, start, end=None, reason=None, doses=None) -> Course:
    steps = doses or [(start, 10, 1)]
    return Course(
        cid,
        ymd(start),
        ymd(end) if end else None,
        reason,
        tuple(DoseStep(ymd(d), Decimal(mg), every) for d, mg, every in steps),
    )


# ---------------------------------------------------------------- the hand-built cohort
#
# 9 patients, 11 courses. "on tx" = after the start, up to the end (clasi.md 2).
#
# VH-01 start 2009-02-02, end 2010-03-01 (remission). Baseline 12 (start day).
#       On tx 4, 0, 0 (last 0 on the withdrawal day): best 0 -> COMPLETE.
#       Taper 10 -> 5 mg on 2009-09-07: in CR then, its watch (to the end) sees only 0.
#       2010-03-22 CLASI-A 6: 21 days after withdrawal -> RELAPSE, 3 weeks.
# VH-02 start 2011-01-10, end 2011-09-05. Baseline 15 on 2011-01-03 (7 days before).
#       On tx 0, 0 -> COMPLETE, withdrawn in CR. 2011-09-19 0, then 2011-10-17 3:
#       Sep 5 -> Oct 17 = 25 + 17 = 42 days -> RELAPSE, 6 weeks.
# VH-03 C1 start 2012-05-07, end 2013-01-07. Baseline 20. On tx 2, 0, 0 -> COMPLETE,
#       withdrawn in CR; 0 on 2013-02-04 and 2013-06-03 -> no relapse flag. Its watch
#       ends at C2's start (2013-09-02), inside 44 weeks (2013-11-11): RULE 4, a restart
#       counts as relapse on 2013-09-02; Jan 7 -> Sep 2 2013 = 24 + 28 + 31 + 30 + 31 +
#       30 + 31 + 31 + 2 = 238 days = 34 weeks.
#       C2 start 2013-09-02, end 2014-03-03. Last CLASI before it is 2013-06-03, 91
#       days earlier -> NO BASELINE, not evaluable; but on tx 0, 0 -> withdrawn in CR
#       (a missing baseline does not undo a CR). 2014-04-07 0 -> no relapse.
# VH-04 D1 start 2010-01-04, end 2010-03-01 (adverse_event). Baseline 9, on tx 7:
#       fall 2 points = 22.2% >= 20% -> IMPROVED. Not in CR at withdrawal; nadir 7.
#       2010-04-05 CLASI-A 11: 4 points and 57% above 7 -> WORSENING after withdrawal,
#       Mar 1 -> Apr 5 = 35 days = 5 weeks.
#       D2 start 2010-06-07, running. Baseline 14 (start day). On tx 7, 8, 12: best 7 =
#       50% fall -> PARTIAL. 10 mg daily -> 10 mg every 2 days on 2010-08-02 (a reduction:
#       10 -> 5 mg/day); last CLASI-A then 8, nadir 7; 2010-09-27 CLASI-A 12 is 5 points /
#       71% above 7 -> WORSENING after dose reduction, Aug 2 -> Sep 27 = 56 days = 8 weeks.
# VH-05 start 2013-03-04, end 2013-05-06. Only earlier CLASI 2013-01-14 (49 days) ->
#       NO BASELINE. On tx 0, 0 -> withdrawn in CR. 2013-05-20 2: 14 days -> RELAPSE,
#       2 weeks.
# VH-06 start 2012-10-01, end 2012-11-05 (adverse_event). Baseline 10 (3 days before), no
#       CLASI on tx -> not evaluable, no flag (no nadir), not withdrawn in CR.
# VH-07 start 2011-03-07, end 2012-03-05. Baseline 25. On tx 16, 13, 14: best 13, fall 12 =
#       48% -> IMPROVED (not partial). Nadir 13, last 14. 2012-04-02 16 (3 points: no),
#       2012-05-07 17 (4 points, 30.8%) -> WORSENING, Mar 5 -> May 7 2012 = 26 + 30 + 7 =
#       63 days = 9 weeks.
# VH-08 start 2014-01-06, end 2014-07-07. Baseline 8. On tx 0, 0 -> COMPLETE, withdrawn in
#       CR. 2014-08-04 CLASI-A 1: 28 days -> RELAPSE, 4 weeks.
# VH-09 start 2015-01-05, running. Baseline 11 on 2014-12-15 (21 days before). On tx 9:
#       2 points, 18.2% -> NO RESPONSE.
#
# Counts:  patients 9; courses 1+1+2+2+1+1+1+1+1 = 11; evaluable 8 (all but VH-03 C2, VH-05, VH-06).
#          stopped for an adverse event: VH-04 D1, VH-06 = 2.
#          complete 4 (VH-01, VH-02, VH-03 C1, VH-08); partial 1 (VH-04 D2);
#          improved 4 + 1 + 2 (VH-04 D1, VH-07) = 7. CR rate 4/8 = 0.5.
#          withdrawn in CR 6 (VH-01, -02, -03 C1, -03 C2, -05, -08), all followed (each
#          has a CLASI inside its watch); relapsed 5 (VH-01, -02, -05, -08 by a flag,
#          VH-03 C1 by its restart): 5/6 = 0.8333... -> 0.833.
#          weeks to relapse 3, 6, 34, 2, 4 -> sorted 2, 3, 4, 6, 34: min 2, median 4,
#          max 34.
#          mean baseline (evaluable): 12+15+20+9+14+25+8+11 = 114; 114/8 = 14.25 -> 14.3
#          half-up (Python's round(14.25, 1) gives 14.2: banker's rounding).


def cohort() -> list[PatientRecord]:
    vh01 = patient(
        "VH-01",
        [
            course(
                "c1",
                "2009-02-02",
                "2010-03-01",
                "remission",
                [("2009-02-02", 5, 1), ("2009-03-02", 10, 1), ("2009-09-07", 5, 1)],
            )
        ],
        [
            ("2009-02-02", 12),
            ("2009-03-02", 4),
            ("2009-06-01", 0),
            ("2010-03-01", 0),
            ("2010-03-22", 6),
        ],
    )
    vh02 = patient(
        "VH-02",
        [course("c2", "2011-01-10", "2011-09-05", "remission")],
        [
            ("2011-01-03", 15),
            ("2011-02-07", 0),
            ("2011-09-05", 0),
            ("2011-09-19", 0),
            ("2011-10-17", 3),
        ],
    )
    vh03 = patient(
        "VH-03",
        [
            course("c3a", "2012-05-07", "2013-01-07", "remission"),
            course("c3b", "2013-09-02", "2014-03-03", "remission"),
        ],
        [
            ("2012-05-07", 20),
            ("2012-06-04", 2),
            ("2012-09-03", 0),
            ("2013-01-07", 0),
            ("2013-02-04", 0),
            ("2013-06-03", 0),
            ("2013-10-07", 0),
            ("2014-03-03", 0),
            ("2014-04-07", 0),
        ],
    )
    vh04 = patient(
        "VH-04",
        [
            course("c4a", "2010-01-04", "2010-03-01", "adverse_event"),
            course("c4b", "2010-06-07", None, None, [("2010-06-07", 10, 1), ("2010-08-02", 10, 2)]),
        ],
        [
            ("2010-01-04", 9),
            ("2010-02-01", 7),
            ("2010-03-01", 7),
            ("2010-04-05", 11),
            ("2010-06-07", 14),
            ("2010-07-05", 7),
            ("2010-08-02", 8),
            ("2010-09-27", 12),
        ],
    )
    vh05 = patient(
        "VH-05",
        [course("c5", "2013-03-04", "2013-05-06", "remission")],
        [("2013-01-14", 6), ("2013-04-01", 0), ("2013-05-06", 0), ("2013-05-20", 2)],
    )
    vh06 = patient(
        "VH-06",
        [course("c6", "2012-10-01", "2012-11-05", "adverse_event")],
        [("2012-09-28", 10), ("2012-12-03", 10)],
    )
    vh07 = patient(
        "VH-07",
        [course("c7", "2011-03-07", "2012-03-05", "remission")],
        [
            ("2011-03-07", 25),
            ("2011-04-04", 16),
            ("2011-06-06", 13),
            ("2012-03-05", 14),
            ("2012-04-02", 16),
            ("2012-05-07", 17),
        ],
    )
    vh08 = patient(
        "VH-08",
        [course("c8", "2014-01-06", "2014-07-07", "remission")],
        [("2014-01-06", 8), ("2014-02-03", 0), ("2014-07-07", 0), ("2014-08-04", 1)],
    )
    vh09 = patient(
        "VH-09",
        [course("c9", "2015-01-05")],
        [("2014-12-15", 11), ("2015-02-02", 9)],
    )
    # Deliberately not in code order: the report sorts patients itself.
    return [vh07, vh02, vh09, vh04, vh01, vh06, vh08, vh03, vh05]


EXPECTED = {
    "patients": 9,
    "courses": 11,
    "evaluable_courses": 8,
    "stopped_for_adverse_event": 2,
    "improved": 7,
    "complete_response": 4,
    "partial_response": 1,
    "complete_response_rate": 0.5,
    "withdrawn_in_complete_response": 6,
    "followed_after_withdrawal_in_cr": 6,
    "relapsed_after_withdrawal": 5,
    "relapse_rate": 0.833,
    "weeks_to_relapse": {"min": 2, "median": 4, "max": 34},
    "mean_baseline_activity": 14.3,
    "flags": [
        {
            "patient": "VH-01",
            "kind": "relapse_after_complete_response",
            "date": "2010-03-22",
            "weeks_after": 3,
            "activity": 6,
        },
        {
            "patient": "VH-02",
            "kind": "relapse_after_complete_response",
            "date": "2011-10-17",
            "weeks_after": 6,
            "activity": 3,
        },
        {
            "patient": "VH-04",
            "kind": "worsening_after_withdrawal",
            "date": "2010-04-05",
            "weeks_after": 5,
            "activity": 11,
        },
        {
            "patient": "VH-04",
            "kind": "worsening_after_dose_reduction",
            "date": "2010-09-27",
            "weeks_after": 8,
            "activity": 12,
        },
        {
            "patient": "VH-05",
            "kind": "relapse_after_complete_response",
            "date": "2013-05-20",
            "weeks_after": 2,
            "activity": 2,
        },
        {
            "patient": "VH-07",
            "kind": "worsening_after_withdrawal",
            "date": "2012-05-07",
            "weeks_after": 9,
            "activity": 17,
        },
        {
            "patient": "VH-08",
            "kind": "relapse_after_complete_response",
            "date": "2014-08-04",
            "weeks_after": 4,
            "activity": 1,
        },
    ],
}


def _v1(report: dict) -> dict:
    # The version 1 keys; the paper's sections are pinned by hand in test_report_sections.py.
    return {key: report[key] for key in EXPECTED}


def test_the_report_on_the_hand_built_cohort():
    assert _v1(cohort_report(cohort(), Thresholds(), TODAY)) == EXPECTED


def test_the_report_has_exactly_the_documented_keys_in_order():
    report = cohort_report(cohort(), today=TODAY)
    assert list(report) == list(REPORT_KEYS)
    assert [key for key in report if key in EXPECTED] == list(EXPECTED)
    assert list(report["weeks_to_relapse"]) == ["min", "median", "max"]
    for flag in report["flags"]:
        assert list(flag) == ["patient", "kind", "date", "weeks_after", "activity"]
    # JSON-ready as it stands (no Fraction, Decimal or date leaks out).
    assert json.loads(json.dumps(report)) == report


def test_a_generator_of_timelines_is_accepted():
    assert _v1(cohort_report((t for t in cohort()), today=TODAY)) == EXPECTED


def test_today_reads_the_cohort_as_it_stood():
    # On 2010-03-21 only VH-01 and VH-04 (D1) had started; VH-01 not yet relapsed and
    # not seen since its withdrawal 20 days before: lost to follow-up, so its outcome is
    # unknown and the relapse rate has no denominator (null, never "0% relapsed").
    report = cohort_report(cohort(), today=D(2010, 3, 21))
    assert report["patients"] == 9  # every patient counts, even with no course yet
    assert report["courses"] == 2
    assert report["withdrawn_in_complete_response"] == 1
    assert report["followed_after_withdrawal_in_cr"] == 0
    assert report["relapsed_after_withdrawal"] == 0
    assert report["relapse_rate"] is None
    assert report["flags"] == []


# ---------------------------------------------------------------- null cases


def test_an_empty_cohort_has_nulls_not_zero_rates():
    report = cohort_report([], today=TODAY)
    assert report == {
        "drug": "lenalidomide",
        "patients": 0,
        "courses": 0,
        "evaluable_courses": 0,
        "stopped_for_adverse_event": 0,
        "improved": 0,
        "complete_response": 0,
        "partial_response": 0,
        "complete_response_rate": None,
        "patients_evaluable": 0,
        "patients_complete_response": 0,
        "patient_complete_response_rate": None,
        "withdrawn_in_complete_response": 0,
        "followed_after_withdrawal_in_cr": 0,
        "relapsed_after_withdrawal": 0,
        "relapse_rate": None,
        "weeks_to_relapse": {"min": None, "median": None, "max": None},
        "weeks_to_improvement": {"min": None, "median": None, "max": None},
        "weeks_to_complete_response": {"min": None, "median": None, "max": None},
        "mean_baseline_activity": None,
        "mean_activity_by_week": {w: {"mean": None, "n": 0} for w in ("0", "2", "4", "12", "24")},
        "mean_baseline_damage": None,
        "mean_last_damage": None,
        "max_daily_dose": {},
        "adverse_events": [],
        "progressed_to_sle": 0,
        "follow_up_weeks": {"min": None, "median": None, "max": None},
        "flags": [],
    }


def test_no_evaluable_course_gives_null_rate_and_mean():
    # VH-05 (no baseline) and VH-06 (no CLASI on treatment): withdrawn in CR and a relapse
    # still count, since they do not depend on a baseline.
    by_code = {t.code: t for t in cohort()}
    report = cohort_report([by_code["VH-05"], by_code["VH-06"]], today=TODAY)
    assert report["evaluable_courses"] == 0
    assert report["complete_response_rate"] is None
    assert report["mean_baseline_activity"] is None
    assert report["withdrawn_in_complete_response"] == 1
    assert report["relapse_rate"] == 1.0
    assert report["weeks_to_relapse"] == {"min": 2, "median": 2, "max": 2}


def test_nobody_withdrawn_in_complete_response_gives_null_relapse_figures():
    by_code = {t.code: t for t in cohort()}
    report = cohort_report([by_code["VH-04"], by_code["VH-07"], by_code["VH-09"]], today=TODAY)
    # 4 courses, all evaluable: 9, 14, 25, 11 -> 59/4 = 14.75 -> 14.8 (half-up).
    assert report["evaluable_courses"] == 4
    assert report["mean_baseline_activity"] == 14.8
    assert report["complete_response_rate"] == 0.0  # 0 of 4: a rate, not a null
    assert report["withdrawn_in_complete_response"] == 0
    assert report["relapse_rate"] is None
    assert report["weeks_to_relapse"] == {"min": None, "median": None, "max": None}
    assert [f["kind"] for f in report["flags"]] == [
        "worsening_after_withdrawal",
        "worsening_after_dose_reduction",
        "worsening_after_withdrawal",
    ]


def test_an_even_median_that_is_whole_is_an_integer():
    # Relapses at 2 (VH-05) and 4 (VH-08) weeks: median (2 + 4) / 2 = 3, reported as 3.
    by_code = {t.code: t for t in cohort()}
    report = cohort_report([by_code["VH-05"], by_code["VH-08"]], today=TODAY)
    weeks = report["weeks_to_relapse"]
    assert weeks == {"min": 2, "median": 3, "max": 4}
    assert isinstance(weeks["median"], int)


# ---------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Fraction(1, 16), 3, "0.063"),  # 0.0625: half goes up
        (Fraction(57, 4), 1, "14.3"),  # 14.25
        (Fraction(59, 4), 1, "14.8"),  # 14.75
        (Fraction(2, 3), 3, "0.667"),
        (Fraction(1, 3), 3, "0.333"),
        (Fraction(1, 2000), 3, "0.001"),  # 0.0005
        (Fraction(1999, 2000), 3, "1.000"),  # 0.9995
        (Fraction(-57, 4), 1, "-14.3"),  # half away from zero
        (Fraction(0), 3, "0.000"),
    ],
)
def test_round_half_up(value, places, expected):
    assert round_half_up(value, places) == Decimal(expected)


def test_why_not_pythons_round():
    assert round(14.25, 1) == 14.2  # banker's rounding of an exact binary half
    assert float(round_half_up(Fraction(57, 4), 1)) == 14.3


# ---------------------------------------------------------------- text


def test_format_text_is_a_readable_table_with_labelled_context():
    text = format_text(cohort_report(cohort(), today=TODAY))
    assert "Complete response (CLASI-A 0)" in text and "4 of 8 (50.0%)" in text
    assert "Relapsed after withdrawal (flag or restart)" in text and "5 of 6 (83.3%)" in text
    assert "2 / 4 / 34" in text
    assert "lost to follow-up (no CLASI since, no restart)   0" in text
    assert "14.3" in text
    assert "VH-04    2010-09-27  Worsening after dose reduction (exploratory)" in text
    # The Vall d'Hebron figures appear only as labelled context.
    assert "For context only, not a benchmark" in text
    assert "12 of 14 (86%)" in text and "75%" in text
    assert text.index("86%") > text.index("For context only")


def test_format_text_of_an_empty_report():
    text = format_text(cohort_report([], today=TODAY))
    assert "n/a" in text and "none" in text


# ---------------------------------------------------------------- Kaplan-Meier
#
# Courses withdrawn in CR and their follow-up (days from withdrawal):
#   VH-05 relapse 14, VH-01 relapse 21, VH-08 relapse 28, VH-02 relapse 42,
#   VH-03 C2 censored 35 (last visit 2014-04-07, watch open to 44 weeks),
#   VH-03 C1 relapse 238: C2's start (2013-09-02) ends its watch with no flag before it,
#   so the restart is an event on that day (rule 4), not a censoring at its last visit.
# t=0   at risk 6                        S = 1
# t=14  at risk 6, 1 relapse             S = 5/6
# t=21  at risk 5, 1 relapse             S = 5/6 * 4/5 = 2/3
# t=28  at risk 4, 1 relapse             S = 2/3 * 3/4 = 1/2
# t=35  at risk 3, 1 censored            S = 1/2
# t=42  at risk 2, 1 relapse             S = 1/2 * 1/2 = 1/4
# t=238 at risk 1, 1 relapse (restart)   S = 1/4 * 0 = 0


def test_relapse_free_curve_on_the_hand_built_cohort():
    curve = relapse_free_curve(cohort(), Thresholds(), TODAY)
    rows = [(s.time_days, s.at_risk, s.events, s.censored, s.survival) for s in curve.steps]
    assert rows == [
        (0, 6, 0, 0, Fraction(1)),
        (14, 6, 1, 0, Fraction(5, 6)),
        (21, 5, 1, 0, Fraction(2, 3)),
        (28, 4, 1, 0, Fraction(1, 2)),
        (35, 3, 0, 1, Fraction(1, 2)),
        (42, 2, 1, 0, Fraction(1, 4)),
        (238, 1, 1, 0, Fraction(0)),
    ]
    assert (curve.n, curve.events, curve.censored) == (6, 5, 1)
    assert curve.median_days == 28
    assert curve.steps[1].time_weeks == 2
    # Number at risk every 4 weeks up to week 34 (238 days): >= 0, 28, 56, ... days.
    assert curve.at_risk_table() == (
        (0, 6), (4, 4), (8, 1), (12, 1), (16, 1), (20, 1), (24, 1), (28, 1), (32, 1)
    )
    plot = curve.to_dict()
    assert plot["steps"][2] == {
        "time_weeks": 3.0,
        "survival": 2 / 3,
        "at_risk": 5,
        "events": 1,
        "censored": 0,
    }
    json.dumps(plot)


def test_relapse_free_curve_censoring_at_the_watch_end_and_without_follow_up():
    withdrawn = course("c", "2020-01-06", "2020-06-01", "remission")
    # Visits beyond 44 weeks do not extend follow-up: censored at the last one inside.
    late = patient(
        "A",
        [withdrawn],
        [
            ("2020-01-06", 10),
            ("2020-03-02", 0),
            ("2020-06-01", 0),
            ("2021-01-04", 0),
            ("2021-06-07", 0),
        ],
    )
    # No visit after withdrawal: censored at 0.
    lost = patient("B", [withdrawn], [("2020-01-06", 10), ("2020-06-01", 0)])
    curve = relapse_free_curve([late, lost])
    times = {s.patient: (s.time_days, s.relapsed) for s in curve.subjects}
    assert times == {"A": (217, False), "B": (0, False)}  # Jun 1 2020 -> Jan 4 2021 = 217
    assert curve.steps[0] == curve.steps[0].__class__(0, 2, 0, 1, Fraction(1))


def test_relapse_free_curve_of_nobody():
    curve = relapse_free_curve([], today=TODAY)
    assert curve.steps == () and curve.n == 0 and curve.median_days is None
    assert curve.at_risk_table() == ()


# ---------------------------------------------------------------- mean activity by week


def test_mean_activity_by_week():
    a = patient(
        "A",
        [course("a", "2020-01-06")],
        [("2020-01-06", 12), ("2020-01-20", 8), ("2020-02-03", 4), ("2020-02-17", 2)],
    )
    b = patient(
        "B",
        [course("b", "2020-03-02", "2020-04-13", "remission")],
        [("2020-02-24", 20), ("2020-03-30", 10), ("2020-04-13", 6), ("2020-05-04", 9)],
    )
    rows = mean_activity_by_week([a, b], today=D(2020, 12, 31), bin_weeks=4)
    # Week 0: baselines 12 and 20 -> 16 (n 2).
    # Week 4 (days 1-28): A's last there is day 28 (2020-02-03) = 4; B day 28 (03-30) = 10 -> 7.
    # Week 8 (days 29-56): A day 42 = 2; B day 42 (04-13, its end) = 6 -> 4.
    # B's 2020-05-04 is after the course ended: not on treatment.
    assert [(r.week, r.mean_activity, r.n) for r in rows] == [
        (0, Fraction(16), 2),
        (4, Fraction(7), 2),
        (8, Fraction(4), 2),
    ]
    weekly = mean_activity_by_week([a], today=D(2020, 12, 31), bin_weeks=1)
    assert [(r.week, r.mean_activity) for r in weekly] == [(0, 12), (2, 8), (4, 4), (6, 2)]
    assert rows[0].mean_activity_1dp == 16.0
    with pytest.raises(ValueError):
        mean_activity_by_week([a], bin_weeks=0)


def test_mean_activity_rounds_for_display_half_up():
    a = patient("A", [course("a", "2020-01-06")], [("2020-01-06", 1)])
    b = patient("B", [course("b", "2020-01-06")], [("2020-01-06", 2)])
    c = patient("C", [course("c", "2020-01-06")], [("2020-01-06", 2)])
    d = patient("D", [course("d", "2020-01-06")], [("2020-01-06", 2)])
    (row,) = mean_activity_by_week([a, b, c, d])
    assert row.mean_activity == Fraction(7, 4) and row.mean_activity_1dp == 1.8


# ---------------------------------------------------------------- properties


@st.composite
def small_cohorts(draw) -> list[PatientRecord]:
    found = []
    for n in range(draw(st.integers(0, 4))):
        origin = D(2018, 1, 1)
        length = draw(st.integers(1, 200))
        ended = draw(st.booleans())
        c = course(
            f"c{n}",
            origin.isoformat(),
            (origin + dt.timedelta(days=length)).isoformat() if ended else None,
            draw(st.sampled_from(["remission", "adverse_event"])) if ended else None,
        )
        days = draw(st.sets(st.integers(-40, length + 320), max_size=10))
        pairs = [
            ((origin + dt.timedelta(days=d)).isoformat(), draw(st.integers(0, 25)))
            for d in sorted(days)
        ]
        found.append(patient(f"P{n}", [c], pairs))
    return found


@settings(max_examples=200, deadline=None)
@given(small_cohorts())
def test_report_invariants(timelines):
    r = cohort_report(timelines, today=D(2020, 1, 1))
    assert list(r) == list(REPORT_KEYS)
    assert r["complete_response"] + r["partial_response"] <= r["improved"] <= r["evaluable_courses"]
    assert r["evaluable_courses"] <= r["courses"]
    assert (
        r["relapsed_after_withdrawal"]
        <= r["followed_after_withdrawal_in_cr"]
        <= r["withdrawn_in_complete_response"]
        <= r["courses"]
    )
    # One course per patient here, so no restart: every relapse is a flag.
    relapses = [f for f in r["flags"] if f["kind"] == "relapse_after_complete_response"]
    assert len(relapses) == r["relapsed_after_withdrawal"]
    for rate in (r["complete_response_rate"], r["relapse_rate"]):
        assert rate is None or 0 <= rate <= 1
    curve = relapse_free_curve(timelines, today=D(2020, 1, 1))
    assert curve.n == r["withdrawn_in_complete_response"]
    assert curve.events == r["relapsed_after_withdrawal"]
    survival = [s.survival for s in curve.steps]
    assert survival == sorted(survival, reverse=True) and all(0 <= s <= 1 for s in survival)
