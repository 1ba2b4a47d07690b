"""clasi.md sections 2-3 as the outcome report reads them: the baseline boundary, the
evaluable course, rule 4 (a restart counts as relapse), the lost to follow-up and
rule 5 (loss of response on treatment).

Every expected number is worked out by hand in the comments. Day n is 2024-01-01 + n
days (2024 is a leap year: day 31 = Feb 1, day 60 = Mar 1, day 91 = Apr 1).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from clinical.record import Assessment, Course, DoseStep, PatientRecord, Thresholds
from clinical.rules.flares import FLAG_LABELS, course_summaries, events, find_flags
from clinical.rules.outcomes import (
    WithdrawalOutcome,
    cohort_report,
    format_text,
    outcome_after_withdrawal_in_cr,
    relapse_free_curve,
)
from clinical.rules.response import baseline_bound, course_baseline, course_response

D0 = dt.date(2024, 1, 1)

# The report keys this work owns (the others belong to the report's own tests).
MINE = (
    "evaluable_courses",
    "complete_response",
    "withdrawn_in_complete_response",
    "followed_after_withdrawal_in_cr",
    "relapsed_after_withdrawal",
    "relapse_rate",
    "weeks_to_relapse",
    "flags",
)
NO_WEEKS = {"min": None, "median": None, "max": None}


def on(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def visit(n: int, activity: int) -> Assessment:
    return Assessment(f"v{n}", on(n), activity, 1)


def course(cid, start, end=None, *, drug="lenalidomide", reason=None, doses=None, mg="10"):
    steps = tuple(
        DoseStep(on(d), Decimal(m), every) for d, m, every in (doses or [(start, mg, 1)])
    )
    if end is not None and reason is None:
        reason = "remission"
    return Course(cid, on(start), on(end) if end is not None else None, reason, steps, drug)


def record(courses, visits, code="P") -> PatientRecord:
    return PatientRecord(code, tuple(courses), tuple(visit(n, a) for n, a in visits))


def mine(report: dict) -> dict:
    return {k: report[k] for k in MINE}


def flag_row(code, kind, n, weeks, activity) -> dict:
    return {
        "patient": code,
        "kind": kind,
        "date": on(n).isoformat(),
        "weeks_after": weeks,
        "activity": activity,
    }


# ---------------------------------------------------------------- rule 4: restart


def restarted(*extra_visits) -> PatientRecord:
    """Lenalidomide day 0-84 (remission): baseline 12, 0 on day 28, 0 on the withdrawal
    day; restarted on day 100 with no CLASI in between; 6 on day 114, 2 on day 128."""
    return record(
        [course("len1", 0, 84), course("len2", 100)],
        [(0, 12), (28, 0), (84, 0), (114, 6), (128, 2), *extra_visits],
    )


def test_a_restart_counts_as_relapse_on_the_restart_date():
    timeline = restarted()
    # No CLASI between the withdrawal (day 84) and the restart (day 100): no flag at all.
    assert find_flags(timeline) == []
    first, second = timeline.courses
    outcome = outcome_after_withdrawal_in_cr(timeline, first)
    # Day 84 -> day 100 = 16 days = 2 whole weeks.
    assert outcome == WithdrawalOutcome(
        course_id="len1",
        withdrawal=on(84),
        status="relapsed",
        relapse_date=on(100),
        cause="restart",
        flag=None,
        last_seen=None,
    )
    assert (outcome.followed, outcome.weeks_to_relapse, outcome.days_to_relapse) == (True, 2, 16)
    # The running restart is not withdrawn: no outcome of its own.
    assert outcome_after_withdrawal_in_cr(timeline, second) is None

    # len1: baseline 12, best 0 -> evaluable, complete. len2: the only CLASI in
    # [day 70, day 100] is the one of day 84, len1's withdrawal day: it belongs to len1,
    # so len2 has NO baseline (not the previous course's clear visit) and is not evaluable.
    report = cohort_report([timeline], today=on(200))
    assert mine(report) == {
        "evaluable_courses": 1,
        "complete_response": 1,
        "withdrawn_in_complete_response": 1,
        "followed_after_withdrawal_in_cr": 1,
        "relapsed_after_withdrawal": 1,
        "relapse_rate": 1.0,
        "weeks_to_relapse": {"min": 2, "median": 2, "max": 2},
        "flags": [],
    }
    assert report["courses"] == 2
    first_summary, summary = course_summaries(timeline, today=on(200))
    assert first_summary.after_withdrawal == outcome and first_summary.relapsed_by_restart
    assert first_summary.weeks_to_relapse == 2 and first_summary.relapse_flag is None
    assert summary.response.baseline is None and not summary.evaluable
    assert course_baseline(second, timeline.assessments, after=on(84)) is None
    assert course_baseline(second, timeline.assessments) == visit(84, 0)  # without the bound

    # Kaplan-Meier: one subject, an event at 16 days: S = 1 - 1/1 = 0.
    curve = relapse_free_curve([timeline], today=on(200))
    assert [(s.time_days, s.at_risk, s.events, s.censored, s.survival) for s in curve.steps] == [
        (0, 1, 0, 0, Fraction(1)),
        (16, 1, 1, 0, Fraction(0)),
    ]


def test_a_clear_visit_between_withdrawal_and_restart_still_ends_in_a_restart_relapse():
    # A CLASI-A 0 on day 90 (after the withdrawal, 10 days before the restart): the watch
    # has a CLASI (followed) but no flag, and the restart still counts on day 100.
    # It is len2's baseline now (after day 84, within 30 days): 0, so len2 started
    # clear and is not evaluable either.
    timeline = restarted((90, 0))
    outcome = outcome_after_withdrawal_in_cr(timeline, timeline.courses[0])
    assert (outcome.status, outcome.cause, outcome.relapse_date) == ("relapsed", "restart", on(100))
    assert outcome.last_seen == on(90)
    second = course_summaries(timeline, today=on(200))[1]
    assert second.baseline_activity == 0 and not second.evaluable and second.category is None
    report = cohort_report([timeline], today=on(200))
    assert (report["evaluable_courses"], report["relapsed_after_withdrawal"]) == (1, 1)


def test_a_relapse_flag_before_the_restart_is_the_cause_and_the_date():
    # CLASI-A 3 on day 95: relapse after CR, 11 days = 1 week after the withdrawal.
    timeline = restarted((95, 3))
    (flag,) = find_flags(timeline)
    outcome = outcome_after_withdrawal_in_cr(timeline, timeline.courses[0])
    assert (outcome.cause, outcome.relapse_date, outcome.weeks_to_relapse) == ("flag", on(95), 1)
    assert outcome.flag == flag
    # len2's baseline is day 95 (3): after day 84, 5 days before the start. Best on
    # treatment 2 (day 128): 1 point = 33% >= 20% -> improved, evaluable. Rule 5 stays
    # silent: the lowest before day 128 is 6, no MCID against 3.
    report = cohort_report([timeline], today=on(200))
    assert mine(report) == {
        "evaluable_courses": 2,
        "complete_response": 1,
        "withdrawn_in_complete_response": 1,
        "followed_after_withdrawal_in_cr": 1,
        "relapsed_after_withdrawal": 1,
        "relapse_rate": 1.0,
        "weeks_to_relapse": {"min": 1, "median": 1, "max": 1},
        "flags": [flag_row("P", "relapse_after_complete_response", 95, 1, 3)],
    }


def test_a_restart_after_the_44_week_watch_is_no_relapse():
    # Withdrawn day 84, watch to day 84 + 308 = 392; restart on day 399. CLASI-A 0 on day
    # 200 inside the watch: followed, relapse-free.
    timeline = record(
        [course("len1", 0, 84), course("len2", 399)], [(0, 12), (28, 0), (84, 0), (200, 0)]
    )
    outcome = outcome_after_withdrawal_in_cr(timeline, timeline.courses[0])
    assert (outcome.status, outcome.cause, outcome.last_seen) == ("relapse_free", None, on(200))
    report = cohort_report([timeline], today=on(500))
    assert (report["followed_after_withdrawal_in_cr"], report["relapsed_after_withdrawal"]) == (1, 0)
    assert report["relapse_rate"] == 0.0 and report["weeks_to_relapse"] == NO_WEEKS
    # The site's watch is what decides: with an 8-week watch (day 140) the same record's
    # day-200 visit is outside it, and nobody restarted within it -> lost to follow-up.
    short = Thresholds(watch_weeks=8)
    assert outcome_after_withdrawal_in_cr(timeline, timeline.courses[0], short).lost_to_follow_up


def test_a_thalidomide_restart_ends_a_lenalidomide_watch_too():
    # Both drugs are watched: thalidomide started on day 98 is the restart (14 days = 2 weeks).
    timeline = record(
        [course("len", 0, 84), course("thal", 98, drug="thalidomide", mg="100")],
        [(0, 12), (28, 0), (84, 0)],
    )
    outcome = outcome_after_withdrawal_in_cr(timeline, timeline.courses[0])
    assert (outcome.cause, outcome.weeks_to_relapse) == ("restart", 2)
    report = cohort_report([timeline], today=on(200))  # lenalidomide courses only
    assert report["courses"] == 1 and report["relapsed_after_withdrawal"] == 1


# ---------------------------------------------------------------- lost to follow-up


def lost_and_seen() -> list[PatientRecord]:
    lost = record([course("a", 0, 84)], [(0, 10), (42, 0), (84, 0), (112, 5)], code="LOST")
    seen = record([course("b", 0, 70)], [(0, 9), (35, 0), (70, 0), (84, 0)], code="SEEN")
    return [lost, seen]


def test_a_patient_withdrawn_eight_days_ago_and_not_seen_since_is_not_in_the_denominator():
    # As of day 92: LOST was withdrawn on day 84 (8 days ago), no CLASI since, no restart
    # -> lost to follow-up. SEEN was withdrawn on day 70 and clear on day 84 -> followed,
    # relapse-free. Relapse rate 0 of 1 = 0.0 (not 0 of 2).
    lost, seen = (t.as_of(on(92)) for t in lost_and_seen())
    assert outcome_after_withdrawal_in_cr(lost, lost.courses[0]).status == "lost_to_follow_up"
    assert outcome_after_withdrawal_in_cr(seen, seen.courses[0]).status == "relapse_free"
    report = cohort_report(lost_and_seen(), today=on(92))
    assert mine(report) == {
        "evaluable_courses": 2,
        "complete_response": 2,
        "withdrawn_in_complete_response": 2,
        "followed_after_withdrawal_in_cr": 1,
        "relapsed_after_withdrawal": 0,
        "relapse_rate": 0.0,
        "weeks_to_relapse": NO_WEEKS,
        "flags": [],
    }
    text = format_text(report)
    assert "lost to follow-up (no CLASI since, no restart)   1" in text
    assert "0 of 1 (0.0%)" in text
    # Kaplan-Meier: LOST censored at 0, SEEN censored at 14 days; no event, S stays 1.
    curve = relapse_free_curve(lost_and_seen(), today=on(92))
    assert sorted((s.patient, s.time_days, s.relapsed) for s in curve.subjects) == [
        ("LOST", 0, False),
        ("SEEN", 14, False),
    ]


def test_the_lost_patient_seen_again_joins_the_denominator():
    # As of day 120 LOST has the day-112 CLASI-A 5: relapse after CR, 28 days = 4 weeks.
    report = cohort_report(lost_and_seen(), today=on(120))
    assert mine(report) == {
        "evaluable_courses": 2,
        "complete_response": 2,
        "withdrawn_in_complete_response": 2,
        "followed_after_withdrawal_in_cr": 2,
        "relapsed_after_withdrawal": 1,
        "relapse_rate": 0.5,
        "weeks_to_relapse": {"min": 4, "median": 4, "max": 4},
        "flags": [flag_row("LOST", "relapse_after_complete_response", 112, 4, 5)],
    }


# ---------------------------------------------------------------- started clear


def test_a_course_started_clear_is_not_evaluable_and_never_a_complete_response():
    # Baseline 0 on the start day; 6 on day 56 (on treatment), 0 on day 84 (withdrawal)
    # and day 98. Baseline 0 -> not evaluable, no category, no CR counted. Rule 5 stays
    # silent (nothing was responded to), and the withdrawal-day 0 makes it "withdrawn in
    # CR" by exchange-format.md's definition (which needs no baseline); day 98 is clear:
    # followed, relapse-free.
    timeline = record([course("c", 0, 84)], [(0, 0), (28, 0), (56, 6), (84, 0), (98, 0)])
    response = course_response(timeline.courses[0], timeline.assessments)
    assert response.baseline == visit(0, 0) and response.best == visit(28, 0)
    assert not response.evaluable and response.interpretation is None and response.category is None
    assert find_flags(timeline) == []
    report = cohort_report([timeline], today=on(200))
    assert mine(report) == {
        "evaluable_courses": 0,
        "complete_response": 0,
        "withdrawn_in_complete_response": 1,
        "followed_after_withdrawal_in_cr": 1,
        "relapsed_after_withdrawal": 0,
        "relapse_rate": 0.0,
        "weeks_to_relapse": NO_WEEKS,
        "flags": [],
    }
    assert report["complete_response_rate"] is None and report["mean_baseline_activity"] is None


def test_a_baseline_of_1_is_evaluable():
    # The boundary: baseline 1, 0 on treatment -> evaluable, complete (fall 1 = 100%).
    timeline = record([course("c", 0)], [(0, 1), (28, 0)])
    response = course_response(timeline.courses[0], timeline.assessments)
    assert response.evaluable and response.category == "complete"


# ---------------------------------------------------------------- baseline boundary


def after_an_earlier_course(*extra_visits) -> PatientRecord:
    """Lenalidomide day 0-100 (adverse event), 7 on its withdrawal day; thalidomide from
    day 120; hydroxychloroquine from day -30 to day 105 alongside."""
    return record(
        [
            course("len", 0, 100, reason="adverse_event"),
            course("hcq", -30, 105, drug="hydroxychloroquine", mg="200"),
            course("thal", 120, drug="thalidomide", mg="100"),
        ],
        [(0, 12), (50, 8), (100, 7), (148, 2), *extra_visits],
    )


def test_a_visit_on_the_earlier_withdrawal_day_never_becomes_the_next_baseline():
    timeline = after_an_earlier_course()
    thal = timeline.courses[2]
    # The day-100 visit is 20 days before thalidomide's start (inside 30 days) but it is
    # lenalidomide's withdrawal day: it belongs to that course. The hydroxychloroquine
    # end (day 105) is no boundary: only watched courses bound a baseline.
    assert baseline_bound(timeline, thal) == on(100)
    summary = course_summaries(timeline, today=on(200))[2]
    assert summary.response.baseline is None and not summary.evaluable
    report = cohort_report([timeline], today=on(200), drug="thalidomide")
    assert (report["courses"], report["evaluable_courses"]) == (1, 0)


def test_a_visit_after_the_earlier_withdrawal_is_the_baseline_whatever_other_drugs_do():
    # Day 104 (9): after lenalidomide's withdrawal, before the hydroxychloroquine end; a
    # boundary at day 105 would wrongly exclude it. Thalidomide: baseline 9, best 2 (day
    # 148): fall 7 = 77.8% -> partial, evaluable. Lenalidomide (not in CR at withdrawal,
    # nadir 7): day 104 is 2 points above -> no worsening. No flag anywhere.
    timeline = after_an_earlier_course((104, 9))
    summary = course_summaries(timeline, today=on(200))[2]
    assert summary.baseline_activity == 9 and summary.category == "partial"
    assert find_flags(timeline) == []
    report = cohort_report([timeline], today=on(200), drug="thalidomide")
    assert mine(report) == {
        "evaluable_courses": 1,
        "complete_response": 0,
        "withdrawn_in_complete_response": 0,
        "followed_after_withdrawal_in_cr": 0,
        "relapsed_after_withdrawal": 0,
        "relapse_rate": None,
        "weeks_to_relapse": NO_WEEKS,
        "flags": [],
    }


# ---------------------------------------------------------------- rule 5


def escaping(*visits, doses=None) -> PatientRecord:
    return record([course("len", 0, doses=doses)], list(visits))


def test_loss_of_response_on_an_unchanged_dose():
    # Baseline 14 (day -7); 4 on day 28 (fall 10: the MCID); 5 on day 56 (1 point above
    # 4: no); 9 on day 84: 5 points and 125% above 4 -> loss of response, day 84 =
    # 2024-03-25, 84 // 7 = 12 weeks after the start. 15 on day 112: at most one per course.
    timeline = escaping((-7, 14), (28, 4), (56, 5), (84, 9), (112, 15))
    (flag,) = find_flags(timeline)
    assert (flag.kind, flag.exploratory, flag.event, flag.event_date) == (
        "loss_of_response_on_treatment",
        True,
        "on_treatment",
        on(0),
    )
    assert (flag.date, flag.weeks_after, flag.activity, flag.reference_activity) == (
        on(84),
        12,
        9,
        4,
    )
    assert flag.key == "on_treatment:2024-01-01"
    assert flag.label == FLAG_LABELS["loss_of_response_on_treatment"]
    assert flag.description == (
        "Loss of response on treatment (exploratory): CLASI-A 9 at the visit of 2024-03-25, "
        "12 weeks after the start of lenalidomide on 2024-01-01 (lowest earlier "
        "on-treatment CLASI-A: 4)"
    )
    assert flag.event_words == "start of the lenalidomide course"
    (summary,) = course_summaries(timeline, today=on(150))
    assert summary.on_treatment_flag == flag and summary.withdrawal_flag is None
    # Best 4 from 14: a 71% fall -> partial; nothing withdrawn.
    report = cohort_report([timeline], today=on(150))
    assert mine(report) == {
        "evaluable_courses": 1,
        "complete_response": 0,
        "withdrawn_in_complete_response": 0,
        "followed_after_withdrawal_in_cr": 0,
        "relapsed_after_withdrawal": 0,
        "relapse_rate": None,
        "weeks_to_relapse": NO_WEEKS,
        "flags": [flag_row("P", "loss_of_response_on_treatment", 84, 12, 9)],
    }


def test_loss_of_response_needs_4_points_and_20_percent():
    # Baseline 40; 25 on day 28 (fall 15: the MCID); 29 on day 56 is 4 points but 16%
    # above 25: no; 30 on day 84 is 5 points and exactly 20%: the flag (12 weeks).
    timeline = escaping((0, 40), (28, 25), (56, 29), (84, 30))
    (flag,) = find_flags(timeline)
    assert (flag.date, flag.reference_activity, flag.weeks_after) == (on(84), 25, 12)


def test_no_loss_of_response_before_a_response():
    # Baseline 14; 12 on day 28 (2 points, 14%: no MCID); 17 on day 56: no response yet,
    # nothing to lose. 8 on day 84 (fall 6: the MCID). 13 on day 112: 5 points / 62% above
    # the lowest earlier 8 -> the flag, 112 // 7 = 16 weeks.
    timeline = escaping((0, 14), (28, 12), (56, 17), (84, 8), (112, 13))
    (flag,) = find_flags(timeline)
    assert (flag.date, flag.reference_activity, flag.weeks_after) == (on(112), 8, 16)
    assert find_flags(escaping((0, 14), (28, 12), (56, 17))) == []


def test_loss_of_response_uses_the_site_thresholds():
    # MCID 6 points or 50%: 4 from 14 still meets it (10 points); 9 on day 84 is 5 points
    # above 4 (< 6): no; 15 on day 112 is 11 points and 275%: the flag, 16 weeks.
    timeline = escaping((-7, 14), (28, 4), (56, 5), (84, 9), (112, 15))
    (flag,) = find_flags(timeline, Thresholds(mcid_points=6, mcid_percent=50))
    assert (flag.date, flag.weeks_after) == (on(112), 16)


def test_inside_a_dose_reduction_watch_only_rule_3_speaks():
    # 10 mg daily, reduced to 5 mg on day 56 (2024-02-26) and never changed again: the
    # reduction's watch runs to day 56 + 308. Up to day 56 on treatment: 4, 4 -> not in
    # CR, nadir 4. Day 84 (9): 5 points / 125% above 4 -> worsening after dose reduction,
    # 28 days = 4 weeks. Rule 5 would flag day 84 too, but it lies inside the watch.
    doses = [(0, "10", 1), (56, "5", 1)]
    timeline = escaping((-7, 14), (28, 4), (56, 4), (84, 9), (120, 12), doses=doses)
    (flag,) = find_flags(timeline)
    assert (flag.kind, flag.key, flag.date, flag.weeks_after) == (
        "worsening_after_dose_reduction",
        "reduction:2024-02-26",
        on(84),
        4,
    )
    report = cohort_report([timeline], today=on(150))
    assert report["flags"] == [flag_row("P", "worsening_after_dose_reduction", 84, 4, 9)]


def test_after_the_reduction_watch_closes_rule_5_speaks_again():
    # The same, but the dose goes back to 10 mg on day 100: the reduction's watch is
    # (56, 100]. Day 84 is rule 3's; day 120 (12) is outside every reduction watch and
    # 8 points / 200% above the lowest earlier 4 -> loss of response, 120 // 7 = 17 weeks.
    doses = [(0, "10", 1), (56, "5", 1), (100, "10", 1)]
    timeline = escaping((-7, 14), (28, 4), (56, 4), (84, 9), (120, 12), doses=doses)
    reduction, loss = find_flags(timeline)
    assert (reduction.kind, reduction.date) == ("worsening_after_dose_reduction", on(84))
    assert (loss.kind, loss.date, loss.weeks_after, loss.reference_activity) == (
        "loss_of_response_on_treatment",
        on(120),
        17,
        4,
    )
    assert loss.key == "on_treatment:2024-01-01" != reduction.key


def test_a_course_of_an_unwatched_drug_never_loses_a_response():
    timeline = record(
        [course("hcq", 0, drug="hydroxychloroquine", mg="200")], [(-7, 14), (28, 4), (84, 9)]
    )
    assert find_flags(timeline) == []


# ---------------------------------------------------------------- concomitant courses


def with_concomitants(*, concomitant: bool = True, relapse: bool = True) -> PatientRecord:
    """Lenalidomide day 0-84 withdrawn in CR; 0 on day 112, 5 on day 126 (relapse).
    Alongside: hydroxychloroquine from day -200, tapered 400 -> 200 mg on day 50 and
    stopped on day 98 (inside the lenalidomide watch); aspirin from day 90 (running)."""
    courses = [course("len", 0, 84)]
    if concomitant:
        courses += [
            course(
                "hcq",
                -200,
                98,
                drug="hydroxychloroquine",
                doses=[(-200, "400", 1), (50, "200", 1)],
            ),
            course("asa", 90, drug="aspirin", mg="100"),
        ]
    visits = [(-3, 12), (28, 0), (84, 0), (112, 0)] + ([(126, 5)] if relapse else [])
    return record(courses, visits)


def test_concomitant_hydroxychloroquine_and_aspirin_do_not_interfere():
    timeline = with_concomitants()
    # Only lenalidomide has events: its withdrawal, watched to day 84 + 308 = 392 (the
    # aspirin start on day 90 ends nothing); the hydroxychloroquine taper and stop are no
    # events. Day 126 (5): relapse after CR, 42 days = 6 weeks.
    assert [(e.kind, e.course_id, e.watch_end) for e in events(timeline)] == [
        ("withdrawal", "len", on(392))
    ]
    (flag,) = find_flags(timeline)
    assert (flag.kind, flag.date, flag.weeks_after) == ("relapse_after_complete_response", on(126), 6)
    len_course, hcq, asa = (next(c for c in timeline.courses if c.id == i) for i in ("len", "hcq", "asa"))
    # Baseline of lenalidomide: day -3 (12); nothing bounds it.
    assert baseline_bound(timeline, len_course) is None
    outcome = outcome_after_withdrawal_in_cr(timeline, len_course)
    assert (outcome.cause, outcome.relapse_date, outcome.weeks_to_relapse) == ("flag", on(126), 6)
    # Hydroxychloroquine stopped with clear skin is not "withdrawn in CR": not watched.
    assert outcome_after_withdrawal_in_cr(timeline, hcq) is None
    assert outcome_after_withdrawal_in_cr(timeline, asa) is None
    expected = {
        "evaluable_courses": 1,
        "complete_response": 1,
        "withdrawn_in_complete_response": 1,
        "followed_after_withdrawal_in_cr": 1,
        "relapsed_after_withdrawal": 1,
        "relapse_rate": 1.0,
        "weeks_to_relapse": {"min": 6, "median": 6, "max": 6},
        "flags": [flag_row("P", "relapse_after_complete_response", 126, 6, 5)],
    }
    assert mine(cohort_report([timeline], today=on(400))) == expected
    # The same answer without the concomitant courses.
    alone = with_concomitants(concomitant=False)
    assert mine(cohort_report([alone], today=on(400))) == expected
    assert find_flags(alone) == [flag]


def test_an_aspirin_start_inside_the_watch_is_no_restart():
    # Without the relapse visit: day 112 clear, the aspirin start on day 90 is no
    # restart -> followed, relapse-free (it would be a relapse on day 90 were aspirin
    # watched).
    timeline = with_concomitants(relapse=False)
    outcome = outcome_after_withdrawal_in_cr(timeline, timeline.courses[1])
    assert timeline.courses[1].id == "len"
    assert (outcome.status, outcome.last_seen) == ("relapse_free", on(112))
    report = cohort_report([timeline], today=on(400))
    assert (report["followed_after_withdrawal_in_cr"], report["relapsed_after_withdrawal"]) == (1, 0)
