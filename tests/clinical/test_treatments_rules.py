"""clasi.md section 3 with courses of every drug: only watched drugs raise flags,
end a watch or bound a baseline; an interruption is neither a withdrawal nor a
reduction; a baseline never reaches into an earlier watched course."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from clinical.charts.trend import trend_figure
from clinical.record import (
    Assessment,
    Course,
    DoseStep,
    Interruption,
    PatientRecord,
    treatments_text,
)
from clinical.rules.flares import course_summaries, events, find_flags
from clinical.rules.outcomes import cohort_report
from clinical.rules.response import baseline_bound, course_baseline, course_response

D0 = dt.date(2024, 1, 1)


def on(days: int) -> dt.date:
    return D0 + dt.timedelta(days=days)


def visit(days: int, activity: int) -> Assessment:
    return Assessment(f"v{days}", on(days), activity, 1)


def course(cid, drug, start, end=None, mg="10", reason=None, holds=(), doses=None, name=""):
    steps = doses or (DoseStep(on(start), Decimal(mg), 1),)
    return Course(
        cid, on(start), on(end) if end is not None else None, reason, steps, drug, name, holds
    )


def test_a_concomitant_course_does_not_end_the_watch_after_withdrawal():
    # Lenalidomide withdrawn in CR on day 100; a prednisone burst starts on day
    # 110. The skin relapses on day 130: the watch still runs, the relapse flags.
    record = PatientRecord(
        "P",
        courses=(
            course("hcq", "hydroxychloroquine", 0, mg="200"),
            course("len", "lenalidomide", 0, 100, reason="remission"),
            course("pred", "prednisone", 110, 140, mg="20"),
        ),
        assessments=(visit(0, 12), visit(50, 0), visit(100, 0), visit(130, 6)),
    )
    (flag,) = find_flags(record)
    assert (flag.kind, flag.course_id, flag.date) == ("relapse_after_complete_response", "len", on(130))
    (withdrawal,) = [e for e in events(record) if e.kind == "withdrawal"]
    assert withdrawal.watch_end == on(100 + 44 * 7)  # not closed by the prednisone start
    # Without the concomitant courses the answer is the same: they never interfere.
    alone = PatientRecord("P", courses=(record.courses[1],), assessments=record.assessments)
    assert find_flags(alone) == [flag]


def test_a_course_of_an_unwatched_drug_raises_no_flag():
    # Prednisone tapered and withdrawn in "CR", then the skin flares: no flag,
    # the rules watch lenalidomide and thalidomide only.
    record = PatientRecord(
        "P",
        courses=(
            course(
                "pred",
                "prednisone",
                0,
                60,
                doses=(DoseStep(on(0), Decimal(40)), DoseStep(on(30), Decimal(10))),
            ),
        ),
        assessments=(visit(0, 12), visit(20, 0), visit(45, 6), visit(80, 9)),
    )
    assert events(record) == []
    assert find_flags(record) == []
    (summary,) = course_summaries(record)
    assert summary.response is None and not summary.watched and summary.label == "Prednisone"


def test_an_interruption_is_neither_a_withdrawal_nor_a_reduction():
    # Held from day 40 to day 60 for neutropenia while in CR; the skin is active
    # during the hold. No withdrawal, no reduction: no event, no flag of rules 1-3.
    hold = Interruption(on(40), on(60), "neutropenia")
    record = PatientRecord(
        "P",
        courses=(course("len", "lenalidomide", 0, holds=(hold,)),),
        assessments=(visit(0, 12), visit(30, 0), visit(50, 5), visit(70, 0)),
    )
    assert events(record) == []
    # The rules see the course as running through the hold (clasi.md section 3), so
    # rule 5 reads the day-50 visit as on treatment: baseline 12, 0 on day 30 (a
    # response), 5 on day 50 = 5 points above 0 -> loss of response, 50 // 7 = 7 weeks.
    (flag,) = find_flags(record)
    assert (flag.kind, flag.date, flag.weeks_after, flag.reference_activity) == (
        "loss_of_response_on_treatment", on(50), 7, 0
    )
    # The course runs through the hold: the visit in it is on treatment.
    response = course_response(record.courses[0], record.assessments)
    assert response.best == visit(30, 0) and response.last_on_treatment == visit(70, 0)
    assert record.courses[0].in_force(on(50)) and record.courses[0].on_hold(on(50))
    assert not record.courses[0].on_hold(on(60))  # resumed that day
    assert [c.id for c in record.on_hold(on(45))] == ["len"]
    (treatment,) = record.treatments_on(on(45))
    assert treatments_text((treatment,)) == "Lenalidomide 10 mg daily (on hold)"


def test_an_open_interruption_stays_on_hold_and_raises_nothing():
    hold = Interruption(on(40))
    record = PatientRecord(
        "P",
        courses=(course("len", "lenalidomide", 0, holds=(hold,)),),
        assessments=(visit(0, 12), visit(30, 0), visit(90, 8)),
    )
    assert events(record) == [] and record.courses[0].on_hold(on(400))
    # Only rule 5 (the course runs through the hold): 8 on day 90 after 0 on day 30,
    # baseline 12 -> loss of response, 90 // 7 = 12 weeks after the start.
    (flag,) = find_flags(record)
    assert (flag.kind, flag.date, flag.weeks_after) == ("loss_of_response_on_treatment", on(90), 12)


def test_a_restart_never_takes_its_baseline_from_the_previous_course():
    # Lenalidomide withdrawn on day 100 with a visit that day (CLASI-A 0, the
    # previous course's last on-treatment visit); thalidomide restarted on day
    # 110. The day-100 visit is within 30 days of the restart but belongs to the
    # earlier course: the restart has no baseline.
    record = PatientRecord(
        "P",
        courses=(
            course("len", "lenalidomide", 0, 100, reason="relapse"),
            course("thal", "thalidomide", 110, mg="100"),
        ),
        assessments=(visit(0, 12), visit(50, 2), visit(100, 0), visit(130, 3)),
    )
    restart = record.courses[1]
    assert baseline_bound(record, restart) == on(100)
    assert course_baseline(restart, record.assessments, after=on(100)) is None
    summaries = course_summaries(record)
    assert summaries[1].baseline_activity is None and not summaries[1].evaluable
    # A visit after the withdrawal (day 105) is the restart's baseline.
    with_visit = PatientRecord("P", courses=record.courses, assessments=(*record.assessments, visit(105, 7)))
    assert course_summaries(with_visit)[1].baseline_activity == 7
    # The chart's hover agrees with the summary.
    custom = trend_figure(record)["data"][0]["customdata"]
    assert custom[2][2] == "Complete response (baseline 12)"  # day 100: on the first course
    assert custom[3][2] == "no baseline for this course"  # day 130: the restart


def test_a_course_of_another_drug_never_bounds_a_baseline():
    # Prednisone withdrawn on day 95; lenalidomide starts day 100; the visit of
    # day 90 is its baseline (prednisone is not watched).
    record = PatientRecord(
        "P",
        courses=(
            course("pred", "prednisone", 60, 95, mg="20"),
            course("len", "lenalidomide", 100),
        ),
        assessments=(visit(90, 9), visit(130, 2)),
    )
    assert baseline_bound(record, record.courses[1]) is None
    assert course_summaries(record)[1].baseline_activity == 9


def test_the_report_counts_the_courses_of_one_drug():
    record = PatientRecord(
        "P",
        courses=(
            course("hcq", "hydroxychloroquine", 0, mg="200"),
            course("len", "lenalidomide", 0, 100, reason="remission"),
            course("thal", "thalidomide", 200, mg="100"),
        ),
        assessments=(visit(0, 12), visit(50, 0), visit(100, 0), visit(130, 6)),
    )
    assert cohort_report([record])["courses"] == 1
    assert cohort_report([record], drug="thalidomide")["courses"] == 1
    assert cohort_report([record], drug="thalidomide")["flags"] == []
    assert len(cohort_report([record])["flags"]) == 1


def test_the_record_answers_what_ran_on_a_day():
    record = PatientRecord(
        "P",
        courses=(
            course("hcq", "hydroxychloroquine", 0, mg="200"),
            course("len", "lenalidomide", 10, 100),
            course("oth", "other", 20, 30, mg="1", name="Clofazimine"),
            course("thal", "thalidomide", 150, mg="100"),
        ),
    )
    assert [c.id for c in record.courses_on(on(25))] == ["hcq", "len", "oth"]
    assert record.course_on(on(25)).id == "len"
    assert record.course_on(on(120)) is None
    assert record.next_watched(record.courses[1]).id == "thal"
    assert record.previous_watched(record.courses[3]).id == "len"
    assert record.previous_watched(record.courses[1]) is None
    assert [t.course.id for t in record.treatments_on(on(25))] == ["len", "hcq", "oth"]
    assert record.treatments_on(on(25))[2].text == "Clofazimine 1 mg daily"


def test_the_chart_draws_every_course_watched_bands_a_lane_for_the_others_and_hatched_holds():
    record = PatientRecord(
        "P",
        courses=(
            course("hcq", "hydroxychloroquine", 0, mg="200"),
            course("len", "lenalidomide", 10, 100, reason="remission",
                   holds=(Interruption(on(40), on(50), "neutropenia"),)),
            course("pred", "prednisone", 110, 130, mg="20"),
            course("thal", "thalidomide", 150, mg="100", holds=(Interruption(on(170)),)),
        ),
        assessments=(visit(10, 12), visit(60, 0), visit(120, 5)),
    )
    figure = trend_figure(record, today=on(200))
    bands = [s for s in figure["layout"]["shapes"] if s.get("name", "").startswith("course band")]
    assert [b["name"] for b in bands] == ["course band len", "course band thal"]
    texts = [a["text"] for a in figure["layout"]["annotations"]]
    assert "<b>Lenalidomide</b>" in texts and "<b>Thalidomide</b> (running)" in texts
    assert figure["layout"]["yaxis3"]["ticktext"] == ["Hydroxychloroquine", "Prednisone"]
    lane = [t for t in figure["data"] if t["yaxis"] == "y3" and t["name"] != "On hold"]
    assert [t["name"] for t in lane] == ["Hydroxychloroquine", "Prednisone"]
    holds = [t for t in figure["data"] if t["name"] == "On hold"]
    assert len(holds) == 2 and all(t["fillpattern"]["shape"] == "/" for t in holds)
    assert holds[0]["x"][:2] == [on(40).isoformat(), on(50).isoformat()]
    assert holds[1]["x"][:2] == [on(170).isoformat(), on(200).isoformat()]  # open: to today
    assert [t["showlegend"] for t in holds] == [True, False]
    doses = [t["name"] for t in figure["data"] if t["name"].endswith("mg/day")]
    assert doses == ["Lenalidomide mg/day", "Thalidomide mg/day"]
