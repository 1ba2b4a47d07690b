"""The outcome report's paper sections (exchange-format.md), on records small enough
to compute by hand. Every expected number is derived in the comment beside it.

Dates: courses start on 2020-01-06 (a Monday) unless said; "day n" is start + n.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinical.record import (
    AdverseEvent,
    Assessment,
    Course,
    DoseStep,
    Lab,
    PatientRecord,
    Thresholds,
    Visit,
)
from clinical.rules.outcomes import REPORT_KEYS, cohort_report, format_text
from clinical.rules.report_sections import SECTION_KEYS

START = dt.date(2020, 1, 6)
TODAY = dt.date(2021, 6, 1)


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def course(cid: str, start: int = 0, end: int | None = None, doses=((0, "5", 1),), drug="lenalidomide"):
    return Course(
        cid,
        day(start),
        day(end) if end is not None else None,
        "remission" if end is not None else None,
        tuple(DoseStep(day(d), Decimal(mg), every) for d, mg, every in doses),
        drug,
    )


def record(code: str, courses, exams, **extra) -> PatientRecord:
    """exams: (day, activity) or (day, activity, damage)."""
    assessments = tuple(
        Assessment(f"{code}/{e[0]}", day(e[0]), e[1], e[2] if len(e) > 2 else 0) for e in exams
    )
    return PatientRecord(code, tuple(courses), assessments, **extra)


def report(*records: PatientRecord, today: dt.date = TODAY, drug: str = "lenalidomide") -> dict:
    return cohort_report(records, Thresholds(), today, drug)


# ---------------------------------------------------------------- the doc's keys


# The JSON example of exchange-format.md "The outcome report" (copied, keys only matter).
DOC_EXAMPLE_KEYS = [
    "drug", "patients", "courses", "evaluable_courses", "stopped_for_adverse_event",
    "improved", "complete_response", "partial_response", "complete_response_rate",
    "patients_evaluable", "patients_complete_response", "patient_complete_response_rate",
    "withdrawn_in_complete_response", "followed_after_withdrawal_in_cr",
    "relapsed_after_withdrawal", "relapse_rate", "weeks_to_relapse", "weeks_to_improvement",
    "weeks_to_complete_response", "mean_baseline_activity", "mean_activity_by_week",
    "mean_baseline_damage", "mean_last_damage", "max_daily_dose", "adverse_events",
    "progressed_to_sle", "follow_up_weeks", "flags",
]  # fmt: skip


def test_the_report_has_the_docs_keys_in_the_docs_order():
    assert list(REPORT_KEYS) == DOC_EXAMPLE_KEYS
    assert set(SECTION_KEYS) <= set(REPORT_KEYS)
    r = report(record("A", [course("a", 0, 60)], [(0, 10), (14, 0), (60, 0)]))
    assert list(r) == list(REPORT_KEYS)
    assert json.loads(json.dumps(r)) == r  # JSON-ready: no Fraction, Decimal or date


# ---------------------------------------------------------------- per patient


def test_a_patient_with_two_complete_responses_counts_once_per_patient():
    # A: course a (days 0-60) baseline 10 -> 0, CR; course b (days 100-160), baseline 8
    #    on day 100 (after a's withdrawal) -> 0, CR. Two CR courses, one patient.
    # B: baseline 12 -> 9 (fall 3 = 25%: improved, not CR). One patient, not in CR.
    # C: no baseline (first CLASI on day 14): not evaluable.
    a = record(
        "A",
        [course("a", 0, 60), course("b", 100, 160)],
        [(0, 10), (14, 0), (60, 0), (100, 8), (120, 0), (160, 0)],
    )
    b = record("B", [course("b1", 0)], [(0, 12), (14, 9)])
    c = record("C", [course("c1", 0)], [(14, 4)])
    r = report(a, b, c)
    assert (r["evaluable_courses"], r["complete_response"]) == (3, 2)
    assert r["patients_evaluable"] == 2  # A, B
    assert r["patients_complete_response"] == 1  # A
    assert r["patient_complete_response_rate"] == 0.5  # 1 / 2
    assert r["complete_response_rate"] == 0.667  # 2 / 3 courses, half-up


# ---------------------------------------------------------------- times


def test_weeks_to_improvement_and_to_complete_response():
    # A: baseline 20; day 20 CLASI-A 17 (3 points, 15%: not the MCID); day 27 15
    #    (5 points): improved at day 27 -> 3 weeks; day 62 0 -> CR at 8 weeks (62 // 7).
    # B: baseline 5; day 13 4 (1 point, 20%: the MCID by percent) -> 1 week; never 0.
    # C: baseline 6; day 10 6: no response -> in neither range.
    a = record("A", [course("a")], [(0, 20), (20, 17), (27, 15), (62, 0)])
    b = record("B", [course("b")], [(0, 5), (13, 4)])
    c = record("C", [course("c")], [(0, 6), (10, 6)])
    r = report(a, b, c)
    assert r["weeks_to_improvement"] == {"min": 1, "median": 2, "max": 3}  # (1 + 3) / 2
    assert r["weeks_to_complete_response"] == {"min": 8, "median": 8, "max": 8}


def test_empty_ranges_are_all_null():
    r = report(record("C", [course("c")], [(0, 6), (10, 6)]))
    assert r["weeks_to_improvement"] == {"min": None, "median": None, "max": None}
    assert r["weeks_to_complete_response"] == {"min": None, "median": None, "max": None}


# ---------------------------------------------------------------- CLASI-A by week


def test_mean_activity_by_week_takes_the_closest_visit_within_a_week():
    # A (course 0-200): baseline 12. Week 2 = day 14: visits day 11 (A 8) and day 17
    #   (A 6) are both 3 days off -> the earlier, 8. Week 4 = day 28: day 30 (A 5, 2 off)
    #   beats day 24 (A 7, 4 off). Week 12 = day 84: day 92 is 8 days off -> none.
    #   Week 24 = day 168: day 175 (A 1, 7 off: inside) -> 1.
    # B (course 0-20, withdrawn): baseline 9; day 14 (A 3) on treatment -> week 2;
    #   day 28 (A 6) is after the withdrawal: not on treatment, no week 4.
    # C: no baseline: not evaluable, its day-14 visit counts nowhere.
    a = record(
        "A",
        [course("a", 0, 200)],
        [(0, 12), (11, 8), (17, 6), (24, 7), (30, 5), (92, 2), (175, 1)],
    )
    b = record("B", [course("b", 0, 20)], [(0, 9), (14, 3), (28, 6)])
    c = record("C", [course("c")], [(14, 20)])
    weeks = report(a, b, c)["mean_activity_by_week"]
    assert weeks == {
        "0": {"mean": 10.5, "n": 2},  # (12 + 9) / 2
        "2": {"mean": 5.5, "n": 2},  # (8 + 3) / 2
        "4": {"mean": 5.0, "n": 1},
        "12": {"mean": None, "n": 0},
        "24": {"mean": 1.0, "n": 1},
    }


def test_means_round_half_up_to_one_decimal():
    # Baselines 10, 10, 10, 11 -> 41 / 4 = 10.25 -> 10.3 (half-up; float round gives 10.2).
    recs = [
        record(code, [course(code.lower())], [(0, base), (14, 0)])
        for code, base in (("A", 10), ("B", 10), ("C", 10), ("D", 11))
    ]
    assert report(*recs)["mean_activity_by_week"]["0"] == {"mean": 10.3, "n": 4}


# ---------------------------------------------------------------- damage, dose


def test_damage_at_baseline_and_at_the_last_clasi_on_treatment():
    # A: baseline D 3, last on treatment (day 40, before the withdrawal day 50) D 4;
    #    the day-70 visit after withdrawal (D 9) is not on treatment.
    # B: baseline D 6, last D 6. C: not evaluable (D 20 never counts).
    a = record("A", [course("a", 0, 50)], [(0, 10, 3), (14, 2, 3), (40, 0, 4), (70, 5, 9)])
    b = record("B", [course("b")], [(0, 8, 6), (14, 8, 6)])
    c = record("C", [course("c")], [(14, 8, 20)])
    r = report(a, b, c)
    assert r["mean_baseline_damage"] == 4.5  # (3 + 6) / 2
    assert r["mean_last_damage"] == 5.0  # (4 + 6) / 2


def test_highest_daily_dose_keyed_by_the_shortest_amount():
    # A: 5 mg, then 10 mg -> 10. B: 10 mg every 2 days = 5 mg/day -> 5.
    # C: 2.50 mg (stored padded) -> "2.5". D: not evaluable (no baseline): left out.
    a = record("A", [course("a", doses=((0, "5", 1), (28, "10", 1)))], [(0, 10), (14, 5)])
    b = record("B", [course("b", doses=((0, "10", 2),))], [(0, 10), (14, 5)])
    c = record("C", [course("c", doses=((0, "2.50", 1),))], [(0, 10), (14, 5)])
    d = record("D", [course("d", doses=((0, "20", 1),))], [(14, 5)])
    assert report(a, b, c, d)["max_daily_dose"] == {"2.5": 1, "5": 1, "10": 1}


# ---------------------------------------------------------------- adverse events


def _visits(code: str, *events: tuple[int, str, int]) -> tuple[Visit, ...]:
    return tuple(
        Visit(f"{code}/v{i}", day(d), adverse_events=(AdverseEvent(term, grade),))
        for i, (d, term, grade) in enumerate(events)
    )


def test_adverse_events_from_the_start_to_30_days_after_the_end():
    # A (course days 0-60): Insomnia g1 day 10 (in); Nausea g2 day 90 (end + 30: in);
    #   Nausea g3 day 91 (end + 31: out); Rash g1 day -1 (before the start: out).
    # B (running course from day 0, today = day 400): Insomnia g2 day 300 (in);
    #   "insomnia" g1 day 20: a different term as recorded.
    # C: a thalidomide course only: not in a lenalidomide report.
    a = record(
        "A",
        [course("a", 0, 60)],
        [(0, 5)],
        visits=_visits("A", (10, "Insomnia", 1), (90, "Nausea", 2), (91, "Nausea", 3), (-1, "Rash", 1)),
    )
    b = record(
        "B",
        [course("b")],
        [(0, 5)],
        visits=_visits("B", (300, "Insomnia", 2), (20, "insomnia", 1)),
    )
    c = record("C", [course("c", drug="thalidomide")], [], visits=_visits("C", (5, "Insomnia", 3)))
    events = report(a, b, c, today=day(400))["adverse_events"]
    assert events == [
        {"term": "Insomnia", "patients": 2, "max_grade": 2},  # A g1, B g2
        {"term": "Nausea", "patients": 1, "max_grade": 2},  # the g3 is out of the window
        {"term": "insomnia", "patients": 1, "max_grade": 1},
    ]
    # As of day 200 B's day-300 visit has not happened yet: Insomnia is A's alone.
    early = report(a, b, c, today=day(200))["adverse_events"]
    assert early[0] == {"term": "Insomnia", "patients": 1, "max_grade": 1}


def test_a_patient_counts_once_per_term_however_often():
    a = record(
        "A",
        [course("a")],
        [(0, 5)],
        visits=_visits("A", (7, "Insomnia", 1), (14, "Insomnia", 3), (21, "Insomnia", 2)),
    )
    assert report(a)["adverse_events"] == [{"term": "Insomnia", "patients": 1, "max_grade": 3}]


# ---------------------------------------------------------------- SLE, follow-up


def test_progressed_to_sle_counts_diagnoses_after_the_first_course_start():
    # A: SLE diagnosed day 100, first course day 0 -> counts.
    # B: diagnosed day -30, before the course: known SLE, no.
    # C: diagnosed on the start day: known at the start, no.
    # D: SLE without a date: cannot be placed after the start, no.
    # E: two courses (days 0-30 and 200-): diagnosed day 150, after the FIRST start -> counts.
    # F: diagnosed day 500, after today (day 400): not yet in the record, no.
    a = record("A", [course("a")], [], sle=True, sle_diagnosed=day(100))
    b = record("B", [course("b")], [], sle=True, sle_diagnosed=day(-30))
    c = record("C", [course("c")], [], sle=True, sle_diagnosed=day(0))
    d = record("D", [course("d")], [], sle=True)
    e = record("E", [course("e1", 0, 30), course("e2", 200)], [], sle=True, sle_diagnosed=day(150))
    f = record("F", [course("f")], [], sle=True, sle_diagnosed=day(500))
    assert report(a, b, c, d, e, f, today=day(400))["progressed_to_sle"] == 2


def test_follow_up_from_the_first_course_start_to_the_last_visit():
    # A: courses from day 0 and day 100; last visit day 300 (a lab-only visit) -> 42 weeks.
    # B: course from day 10, last CLASI day 24 -> 14 days = 2 weeks.
    # C: course from day 0, no visit after it -> 0.
    # D: no course: not counted.
    a = record(
        "A",
        [course("a1", 0, 50), course("a2", 100)],
        [(0, 5), (150, 3)],
        labs=(Lab(day(300), "c3", Decimal("0.9"), "g/L"),),
    )
    b = record("B", [course("b", 10)], [(10, 4), (24, 2)])
    c = record("C", [course("c")], [(-5, 4)])
    d = record("D", [], [(0, 4), (700, 4)])
    assert report(a, b, c, d)["follow_up_weeks"] == {"min": 0, "median": 2, "max": 42}


# ---------------------------------------------------------------- drug, text


def test_a_thalidomide_report_sees_only_thalidomide_courses():
    a = record("A", [course("a", drug="thalidomide")], [(0, 10), (14, 0)])
    b = record("B", [course("b")], [(0, 10), (14, 5)])
    r = report(a, b, drug="thalidomide")
    assert (r["drug"], r["courses"], r["patients"]) == ("thalidomide", 1, 2)
    assert r["patients_complete_response"] == 1 and r["max_daily_dose"] == {"5": 1}


def test_the_text_report_says_none_for_empty_sections():
    text = format_text(report(record("C", [course("c")], [(14, 4)])))
    for heading in ("Highest daily dose", "Adverse events", "Mean CLASI-A by week"):
        after = text.split(heading, 1)[1].splitlines()
        assert after[1] == "none", heading


def test_the_text_report_lists_the_sections():
    a = record(
        "A",
        [course("a", doses=((0, "10", 1),))],
        [(0, 10), (14, 0)],
        visits=_visits("A", (7, "Insomnia", 1)),
    )
    text = format_text(report(a))
    assert "Patients in complete response" in text and "1 of 1 (100.0%)" in text
    lines = text.splitlines()
    assert "Insomnia  1         1" in lines  # term, patients, highest grade
    assert "10      1" in lines  # 10 mg/day: 1 course
    assert "0     10.0          1" in lines and "4     n/a           0" in lines
    assert any(line.startswith("  Vall d'Hebron 2012 (15 patients): complete response 12 of 14 (86%), "
                   "relapse after withdrawal 75% (2-8 weeks after)")
               for line in lines)


# ---------------------------------------------------------------- properties


@st.composite
def cohorts(draw) -> list[PatientRecord]:
    found = []
    for n in range(draw(st.integers(0, 4))):
        courses, first = [], 0
        for k in range(draw(st.integers(1, 3))):
            start = first + draw(st.integers(0, 60))
            length = draw(st.integers(1, 120))
            ended = draw(st.booleans()) or k < 2
            courses.append(course(f"c{n}{k}", start, start + length if ended else None))
            first = start + length + 1
            if not ended:
                break
        days = draw(st.sets(st.integers(-40, first + 200), max_size=12))
        exams = [(d, draw(st.integers(0, 20)), draw(st.integers(0, 5))) for d in sorted(days)]
        found.append(record(f"P{n}", courses, exams))
    return found


@settings(max_examples=150, deadline=None)
@given(cohorts())
def test_per_patient_counts_never_exceed_per_course_counts(timelines):
    r = cohort_report(timelines, today=day(1000))
    assert r["patients_evaluable"] <= r["evaluable_courses"]
    assert r["patients_complete_response"] <= r["complete_response"]
    assert r["patients_complete_response"] <= r["patients_evaluable"] <= r["patients"]
    for rate in (r["patient_complete_response_rate"], r["complete_response_rate"]):
        assert rate is None or 0 <= rate <= 1
    weeks = r["mean_activity_by_week"]
    assert weeks["0"]["n"] == r["evaluable_courses"]
    assert all(cell["n"] <= r["evaluable_courses"] for cell in weeks.values())
    assert all((cell["mean"] is None) == (cell["n"] == 0) for cell in weeks.values())
    assert sum(r["max_daily_dose"].values()) <= r["evaluable_courses"]
    for name in ("weeks_to_improvement", "weeks_to_complete_response", "follow_up_weeks"):
        rng = r[name]
        assert (rng["min"] is None) == (rng["median"] is None) == (rng["max"] is None)
        if rng["min"] is not None:
            assert 0 <= rng["min"] <= rng["median"] <= rng["max"]
