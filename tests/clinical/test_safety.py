"""Pregnancy-test and blood-count schedules (clasi.md section 5) at their boundaries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clinical.rules.safety import (
    MISSING_EARLY,
    MISSING_LATE,
    blood_count_monitoring,
    pregnancy_monitoring,
    safety_monitoring,
)
from clinical.rules.signals import safety_signals
from clinical.record import Course, DoseStep, Lab, PatientRecord

START = dt.date(2026, 3, 2)


def day(n: int) -> dt.date:
    """Course day n (day 0 is the start)."""
    return START + dt.timedelta(days=n)


def preg(n: int, result: str = "negative") -> Lab:
    return Lab(day(n), "pregnancy", result)


def count(n: int, test: str = "anc", value: str = "2.1") -> Lab:
    return Lab(day(n), test, Decimal(value), "x10^9/L")


def course(start: int = 0, end: int | None = None, cid: str = "c1") -> Course:
    return Course(
        cid,
        day(start),
        day(end) if end is not None else None,
        "remission" if end is not None else None,
        (DoseStep(day(start), Decimal(5)),),
    )


def timeline(*labs: Lab, courses: tuple[Course, ...] | None = None) -> PatientRecord:
    return PatientRecord("SYN", courses if courses is not None else (course(),), (), labs)


# Both pre-treatment tests present: lets the on-treatment tests isolate the schedule.
PRE = (preg(-12), preg(0))


def pregnancy(tl: PatientRecord, today: int):
    return pregnancy_monitoring(tl, day(today), reproductive_potential=True, programme="us")


# -- who is monitored ---------------------------------------------------------------


def test_no_course_nothing_due():
    tl = timeline(preg(-3), count(-3), courses=())
    assert pregnancy(tl, 10) is None
    assert blood_count_monitoring(tl, day(10)) is None


def test_not_of_reproductive_potential_no_pregnancy_monitoring_but_counts_still_due():
    tl = timeline()  # no test at all, on treatment
    assert pregnancy_monitoring(tl, day(10), reproductive_potential=False) is None
    both = safety_monitoring(tl, day(10), reproductive_potential=False)
    assert both.pregnancy is None
    assert both.blood_counts is not None and both.blood_counts.overdue


# -- pre-treatment tests ------------------------------------------------------------


@pytest.mark.parametrize(
    ("early", "late", "missing"),
    [
        (-14, 0, ()),  # 14 days before counts
        (-15, 0, (MISSING_EARLY,)),  # 15 days before does not
        (-10, -1, ()),  # the day before counts as "within 24 h"; 10 days before counts
        (-9, 0, (MISSING_EARLY,)),  # 9 days before is too late for the early test (10-14)
        (-2, 0, (MISSING_EARLY,)),  # found in review: two tests 2 days apart are not the pair
        (-12, -2, (MISSING_LATE,)),  # two days before is not within 24 h
        (-16, -15, (MISSING_EARLY, MISSING_LATE)),  # both too early
    ],
)
def test_pretreatment_windows(early, late, missing):
    tl = timeline(preg(early), preg(late))
    assert pregnancy(tl, 1).missing_pretreatment == missing


def test_a_test_on_the_start_day_is_the_24h_test_and_anchors_the_weekly_schedule():
    got = pregnancy(timeline(preg(-12), preg(0)), 3)
    assert got.missing_pretreatment == ()
    assert got.next_due == day(7)
    assert got.last_test == day(0) and got.last_result == "negative"


def test_one_test_the_day_before_cannot_be_both_pretreatment_tests():
    got = pregnancy(timeline(preg(-1)), 1)
    assert got.missing_pretreatment == (MISSING_EARLY,)
    assert "Missing before the start" in got.message and MISSING_EARLY in got.message


def test_pretreatment_tests_must_be_negative():
    got = pregnancy(timeline(preg(-12, "positive"), preg(0)), 1)
    assert got.missing_pretreatment == (MISSING_EARLY,)


def test_course_started_without_any_test_reports_both_missing_and_is_overdue_after_a_week():
    got = pregnancy(timeline(), 8)
    assert got.missing_pretreatment == (MISSING_EARLY, MISSING_LATE)
    assert got.next_due == day(7) and got.overdue
    assert got.last_test is None and "No pregnancy test recorded" in got.message


def test_planned_course_reports_the_pretreatment_tests_due_and_is_never_overdue():
    tl = timeline(courses=(course(start=0),))
    got = pregnancy(tl, -20)
    assert got.missing_pretreatment == (MISSING_EARLY, MISSING_LATE)
    assert got.next_due == day(-14) and not got.overdue
    # Inside the window the early test is due today; once it is done, the 24 h one.
    assert pregnancy(tl, -5).next_due == day(-5)
    after_early = pregnancy(timeline(preg(-12), courses=(course(start=0),)), -5)
    assert after_early.missing_pretreatment == (MISSING_LATE,)
    assert after_early.next_due == day(-1)


# -- on treatment: weekly for 4 weeks, then every 4 weeks --------------------------------


def test_no_on_treatment_test_first_due_one_week_after_start():
    got = pregnancy(timeline(*PRE[:1], preg(-1)), 2)
    assert got.next_due == day(7)


@pytest.mark.parametrize(
    ("last", "due"),
    [(21, 28), (27, 34), (28, 56), (35, 63)],  # day 27 is still week 4; day 28 switches
)
def test_week_4_switches_to_4_weekly(last, due):
    got = pregnancy(timeline(*PRE, preg(last)), last)
    assert got.next_due == day(due)
    assert ("4-weekly" in got.message) == (due - last == 28)
    assert ("weekly for the first 4 weeks" in got.message) == (due - last == 7)


def test_4_weekly_message_names_the_irregular_cycle_judgement():
    got = pregnancy(timeline(*PRE, preg(28)), 30)
    assert "every 2 weeks if cycles are irregular" in got.message


def test_due_today_is_not_overdue_one_day_later_is():
    tl = timeline(*PRE, preg(7))
    due_today = pregnancy(tl, 14)
    assert due_today.next_due == day(14) and not due_today.overdue
    assert "Pregnancy test due " + day(14).isoformat() in due_today.message
    late = pregnancy(tl, 15)
    assert late.overdue and "Pregnancy test OVERDUE since " + day(14).isoformat() in late.message


def test_future_dated_test_does_not_count_as_done():
    tl = timeline(*PRE, preg(7), preg(20))
    got = pregnancy(tl, 15)
    assert got.last_test == day(7) and got.overdue


def test_positive_last_test_is_named_in_the_status_not_duplicated_as_a_signal():
    tl = timeline(*PRE, preg(7, "positive"))
    got = pregnancy(tl, 8)
    assert got.last_result == "positive" and "Last test positive" in got.message
    # The signal itself is signals.safety_signals' job: exactly one, there.
    assert [s.kind for s in safety_signals(tl)] == ["pregnancy_positive"]


# -- after stopping: one test 4 weeks later -----------------------------------------------


def stopped(*labs: Lab) -> PatientRecord:
    return timeline(*PRE, *labs, courses=(course(end=40),))


def test_after_stopping_the_test_is_due_4_weeks_after_withdrawal():
    got = pregnancy(stopped(preg(35)), 40)  # the withdrawal day: stopped
    assert got.next_due == day(68) and not got.overdue
    assert "4 weeks after stopping on " + day(40).isoformat() in got.message
    assert got.missing_pretreatment == ()
    assert pregnancy(stopped(preg(35)), 68).overdue is False
    assert pregnancy(stopped(preg(35)), 69).overdue is True


def test_a_test_before_the_4_weeks_does_not_count_one_on_the_day_completes():
    assert pregnancy(stopped(preg(67)), 80).overdue
    assert pregnancy(stopped(preg(68)), 80) is None
    assert pregnancy(stopped(preg(75)), 80) is None


def test_missing_post_stop_test_stays_overdue_until_the_next_course():
    assert pregnancy(stopped(), 400).overdue
    two = (course(end=40), course(start=300, cid="c2"))
    got = pregnancy(timeline(*PRE, courses=two), 301)
    assert got.next_due == day(307)  # the new course's weekly schedule
    assert got.missing_pretreatment == (MISSING_EARLY, MISSING_LATE)


def test_withdrawal_date_in_the_future_keeps_the_course_running_until_then():
    tl = timeline(*PRE, preg(7), courses=(course(end=30),))
    assert pregnancy(tl, 10).next_due == day(14)
    assert pregnancy(tl, 30).next_due == day(58)


# -- blood counts: weekly for 8 weeks, then every 4 weeks ------------------------------


@pytest.mark.parametrize(("last", "due"), [(49, 56), (55, 62), (56, 84), (84, 112)])
def test_day_56_switches_counts_to_4_weekly(last, due):
    got = blood_count_monitoring(timeline(count(last)), day(last))
    assert got.next_due == day(due)
    assert ("weekly for the first 8 weeks" in got.message) == (due - last == 7)


def test_counts_due_today_vs_overdue_by_one_day():
    tl = timeline(count(0, "platelets", "210"))
    assert blood_count_monitoring(tl, day(7)).overdue is False
    late = blood_count_monitoring(tl, day(8))
    assert late.overdue and "OVERDUE since " + day(7).isoformat() in late.message


def test_counts_before_the_start_do_not_anchor_the_schedule_but_show_as_last():
    got = blood_count_monitoring(timeline(count(-3)), day(2))
    assert got.next_due == day(7) and got.last_count == day(-3)


def test_platelets_alone_count_as_a_blood_count():
    got = blood_count_monitoring(timeline(count(14, "platelets", "180")), day(15))
    assert got.next_due == day(21)


def test_other_labs_are_not_blood_counts():
    lab = Lab(day(14), "c3", Decimal("1.1"), "g/L")
    got = blood_count_monitoring(timeline(lab), day(15))
    assert got.next_due == day(7) and got.overdue and got.last_count is None


def test_no_counts_after_withdrawal_or_before_a_planned_start():
    assert blood_count_monitoring(timeline(courses=(course(end=40),)), day(40)) is None
    assert blood_count_monitoring(timeline(courses=(course(start=5),)), day(0)) is None
    assert blood_count_monitoring(timeline(courses=(course(end=40),)), day(39)) is not None


# -- what the page shows in the warning style ---------------------------------------------


def test_needs_attention_when_overdue_missing_or_positive_only():
    assert not pregnancy(timeline(*PRE, preg(7)), 10).needs_attention
    assert pregnancy(timeline(*PRE, preg(7)), 15).needs_attention  # overdue
    assert pregnancy(timeline(preg(0), preg(7)), 10).needs_attention  # started without one
    assert pregnancy(timeline(*PRE, preg(7, "positive")), 10).needs_attention
    assert not blood_count_monitoring(timeline(count(7)), day(14)).needs_attention
    assert blood_count_monitoring(timeline(count(7)), day(15)).needs_attention


@pytest.mark.parametrize(
    ("tl", "today", "headline"),
    [
        (timeline(*PRE, preg(7)), 10, f"Pregnancy test due {day(14).isoformat()}"),
        (timeline(), 8, f"Pregnancy test OVERDUE since {day(7).isoformat()}"),
        (stopped(), 70, f"Pregnancy test OVERDUE since {day(68).isoformat()}"),
        (timeline(), -20, f"Pregnancy tests due before the course starting {day(0).isoformat()}"),
    ],
)
def test_headline_starts_the_message_and_detail_is_the_rest(tl, today, headline):
    got = pregnancy(tl, today)
    assert got.headline == headline
    assert got.headline + got.detail == got.message and got.detail.startswith((" ", ":"))


def test_planned_course_with_both_pretreatment_tests_next_due_one_week_after_start():
    got = pregnancy(timeline(preg(-12), preg(-1)), -1)
    assert got.missing_pretreatment == () and not got.overdue
    assert got.next_due == day(7) and "pre-treatment tests done" in got.message
