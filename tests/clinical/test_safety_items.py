"""Issue 11's "Done when", pure: graded counts, kidney, programmes, thrombosis, the worklist order.

Every expectation is computed by hand from clasi.md section 5 (5.1-5.6).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clinical.record import Course, DoseStep, History, Interruption, Lab, PatientRecord, Visit
from clinical.rules.kidney import cockcroft_gault, creatinine_clearance
from clinical.rules.safety import (
    COUNSELLING,
    MISSING_EU,
    condom_counselling,
    pregnancy_monitoring,
    thrombosis_risk,
)
from clinical.rules.worklist import URGENCY, safety_items, safety_key, worklist

START = dt.date(2026, 3, 2)


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def lena(start: int = 0, end: int | None = None, holds=(), cid: str = "c1", drug: str = "lenalidomide",
         mg: str = "5") -> Course:
    return Course(
        cid, day(start), day(end) if end is not None else None,
        "remission" if end is not None else None,
        (DoseStep(day(start), Decimal(mg)),), drug,
        interruptions=tuple(Interruption(day(a), day(b) if b is not None else None) for a, b in holds),
    )


def record(*labs: Lab, courses=None, sex: str = "F", potential: bool = False, birth=dt.date(1966, 1, 1),
           visits=(), history: History = History()) -> PatientRecord:
    return PatientRecord(
        "SYN", courses if courses is not None else (lena(),), (), labs, sex=sex, birth_date=birth,
        reproductive_potential=potential, visits=visits, history=history,
    )


def lab(n: int, test: str, value, unit: str = "") -> Lab:
    return Lab(day(n), test, Decimal(value) if test != "pregnancy" else value, unit)


# -- 5.2 blood counts -------------------------------------------------------------------


def test_anc_800_cells_per_ul_is_grade_3_and_urgent_on_the_worklist():
    # 800 cells/uL x 0.001 = 0.8 x 10^9/L: < 1.0 and >= 0.5 -> grade 3.
    items = safety_items(record(lab(14, "anc", 800, "cells/uL")), day(15))
    (item,) = items
    assert (item.kind, item.title, item.urgent) == ("cytopenia", "Grade 3 neutropenia", True)
    assert item.key == safety_key("cytopenia_anc", day(14))
    assert "ANC 800 cells/uL (= 0.8 10^9/L)" in item.detail
    assert worklist(items) == [item]


def test_anc_1_2_is_a_grade_2_signal_never_on_the_worklist():
    items = safety_items(record(lab(14, "anc", "1.2", "x10^9/L")), day(15))
    (item,) = items
    assert (item.title, item.urgent) == ("Grade 2 neutropenia", False)
    assert worklist(items) == []


def test_the_cytopenia_action_follows_the_course_in_force_on_that_date():
    # Grade 3 (ANC 0.8) during the course: interrupt or reduce. The same count 60 days
    # after a withdrawal on day 100 (beyond the 4 weeks of 5.2): not urgent, and no dose
    # to reduce; a grade 2 count during the course: review the dose.
    during = safety_items(record(lab(14, "anc", "0.8", "10^9/L")), day(15))[0]
    assert during.action == "Interrupt or reduce lenalidomide; repeat the count"
    grade_2 = safety_items(record(lab(14, "anc", "1.2", "10^9/L")), day(15))[0]
    assert grade_2.action == "Repeat the count; review the lenalidomide dose"
    after = safety_items(record(lab(160, "anc", "0.8", "10^9/L"), courses=(lena(0, 100),)), day(161))[0]
    assert (after.title, after.urgent) == ("Grade 3 neutropenia", False)
    assert after.action == "Repeat the count; no lenalidomide course on that date: look for another cause"
    assert "lenalidomide" not in after.detail


def test_platelets_40000_per_ul_is_grade_3():
    (item,) = safety_items(record(lab(14, "platelets", 40000, "/uL")), day(15))
    assert (item.title, item.urgent) == ("Grade 3 thrombocytopenia", True)


def test_c3_85_mg_per_dl_reads_as_0_85_g_per_l():
    c3 = lab(14, "c3", 85, "mg/dL")
    assert c3.canonical == Decimal("0.85")


@pytest.mark.parametrize(("value_day", "end", "urgent"), [
    (20, 10, True),  # 10 days after the end: within 4 weeks
    (38, 10, True),  # 28 days after: still within
    (39, 10, False),  # 29 days after: a signal only
    (-5, None, False),  # before any course
])
def test_grade_3_is_urgent_during_a_course_or_within_4_weeks_after(value_day, end, urgent):
    courses = (lena(0, end),)
    (item,) = safety_items(record(lab(value_day, "anc", "0.7", "G/L"), courses=courses), day(60))
    assert item.urgent is urgent and item.title == "Grade 3 neutropenia"


def test_grade_4_title_names_the_grade():
    (item,) = safety_items(record(lab(7, "anc", "0.4", "10^9/L")), day(8))
    assert item.title == "Grade 4 neutropenia" and item.urgent


# -- 5.3 kidney -------------------------------------------------------------------------


def _kidney_record(sex: str = "F", weight_day: int = 10, creat_unit: str = "mg/dL", creat="1.6"):
    # Born 1966-01-01: 60 on the creatinine day (2026-03-12).
    return record(
        lab(10, "creatinine", creat, creat_unit), sex=sex,
        visits=(Visit("v1", day(weight_day), Decimal(70)),),
    )


def test_cockcroft_gault_female_60_years_70_kg_creatinine_1_6():
    # (140 - 60) x 70 x 0.85 / (72 x 1.6) = 4760 / 115.2 = 41.319... -> 41.3 mL/min
    clearance = creatinine_clearance(_kidney_record(), day(12))
    assert clearance.ml_min == Decimal("41.3")
    assert clearance.age == 60 and clearance.weight_kg == Decimal(70)
    assert "creatinine 1.6 mg/dL on 2026-03-12" in clearance.inputs_text
    assert "weight 70 kg on 2026-03-12" in clearance.inputs_text
    assert "female" in clearance.inputs_text
    assert round(cockcroft_gault(60, Decimal(70), Decimal("1.6"), False), 1) == Decimal("48.6")


def test_clearance_below_the_limit_on_a_running_course_is_a_dose_review_item():
    items = safety_items(_kidney_record(), day(12), crcl_review_ml_min=60)
    (item,) = items
    assert item.kind == "crcl_below_review" and item.urgent
    assert item.title == "Creatinine clearance 41.3 mL/min (below 60)"
    assert item.key == safety_key("crcl_below_review", day(10))
    # A site with the older EU limit (50) still reviews 41.3; one at 40 does not.
    assert safety_items(_kidney_record(), day(12), crcl_review_ml_min=40) == []


def test_creatinine_in_umol_per_l_gives_the_same_clearance():
    # 141.472 umol/L / 88.42 = 1.6 mg/dL exactly.
    assert creatinine_clearance(_kidney_record(creat_unit="umol/L", creat="141.472"), day(12)).ml_min == \
        Decimal("41.3")


def test_no_review_item_without_a_running_lenalidomide_course():
    rec = record(lab(10, "creatinine", "1.6", "mg/dL"), courses=(lena(0, 5),),
                 visits=(Visit("v1", day(10), Decimal(70)),))
    assert [i.kind for i in safety_items(rec, day(12))] == []


def test_missing_inputs_are_named_never_guessed():
    none = creatinine_clearance(record(birth=None), day(12))
    assert none.ml_min is None
    assert none.missing == ("no creatinine recorded", "no weight recorded", "no birth date")
    old_weight = record(lab(400, "creatinine", "1.0", "mg/dL"), visits=(Visit("v1", day(10), Decimal(70)),))
    got = creatinine_clearance(old_weight, day(400))
    assert got.ml_min is None and got.missing == (f"no weight in the last 12 months (last {day(10)})",)
    off_list = record(lab(10, "creatinine", "1.6", "mg/L"), visits=(Visit("v1", day(10), Decimal(70)),))
    assert "unit off the list" in creatinine_clearance(off_list, day(12)).missing[0]


def test_sex_x_uses_the_female_factor_and_says_so():
    got = creatinine_clearance(_kidney_record(sex="X"), day(12))
    assert got.ml_min == Decimal("41.3") and "female factor 0.85 used" in got.sex_note
    male = creatinine_clearance(_kidney_record(sex="M"), day(12))
    assert male.ml_min == Decimal("48.6")  # 5600 / 115.2 = 48.61


# -- 5.1 pregnancy programme --------------------------------------------------------------


def test_a_male_with_potential_gets_no_pregnancy_test_but_counselling():
    rec = record(sex="M", potential=True)
    assert pregnancy_monitoring(rec, day(60)) is None
    assert pregnancy_monitoring(rec, day(60), programme="us") is None
    assert condom_counselling(rec, day(60)) == COUNSELLING
    assert [i.kind for i in safety_items(rec, day(60))] == []
    # A woman with the same record is overdue.
    assert [i.kind for i in safety_items(record(sex="F", potential=True), day(60))] == [
        "pregnancy_test_overdue"]


def test_sex_x_with_potential_is_tested():
    assert pregnancy_monitoring(record(sex="X", potential=True), day(10)) is not None


def test_eu_schedule_every_4_weeks_through_an_interruption():
    # Held from day 20 to day 50: the 4-weekly tests go on (5.1 "interruptions included").
    course = lena(0, holds=[(20, 50)])
    neg = [lab(-2, "pregnancy", "negative"), lab(28, "pregnancy", "negative")]
    rec = record(*neg, courses=(course,), potential=True)
    got = pregnancy_monitoring(rec, day(30))
    assert got.missing_pretreatment == () and got.next_due == day(56) and not got.overdue
    assert got.programme_label == "EU Pregnancy Prevention Programme"
    # No test on day 56 (the hold ended on day 50): overdue from day 57.
    assert pregnancy_monitoring(rec, day(57)).overdue
    # Overdue during the hold itself: the test of day 28 missing, checked on day 29.
    during_hold = record(neg[0], courses=(course,), potential=True)
    got = pregnancy_monitoring(during_hold, day(29))
    assert got.next_due == day(28) and got.overdue and course.on_hold(day(29))
    (item,) = safety_items(during_hold, day(29))
    assert (item.kind, item.urgent, item.date) == ("pregnancy_test_overdue", True, day(28))


def test_eu_pretreatment_window_is_the_3_days_before_the_start():
    for n, missing in ((-3, ()), (-4, (MISSING_EU,)), (0, ())):
        rec = record(lab(n, "pregnancy", "negative"), potential=True)
        assert pregnancy_monitoring(rec, day(1)).missing_pretreatment == missing


def test_us_schedule_weekly_then_4_weekly_through_an_interruption():
    course = lena(0, holds=[(10, 40)])
    tests = [lab(n, "pregnancy", "negative") for n in (-12, 0, 7, 14, 21)]
    rec = record(*tests, courses=(course,), potential=True)
    got = pregnancy_monitoring(rec, day(22), programme="us")
    assert got.next_due == day(28) and got.programme_label == "US REMS programme"
    # The week-4 test is missing while on hold: overdue on day 29, an urgent item.
    assert pregnancy_monitoring(rec, day(29), programme="us").overdue
    (item,) = safety_items(rec, day(29), programme="us")
    assert item.kind == "pregnancy_test_overdue" and item.urgent
    # Done on day 28 (on hold): then every 4 weeks.
    done = record(*tests, lab(28, "pregnancy", "negative"), courses=(course,), potential=True)
    assert pregnancy_monitoring(done, day(29), programme="us").next_due == day(56)
    # The EU programme would have asked for the next test 4 weeks after day 21.
    assert pregnancy_monitoring(rec, day(29)).next_due == day(49)


def test_the_test_4_weeks_after_the_end_is_not_urgent():
    rec = record(lab(-2, "pregnancy", "negative"), lab(28, "pregnancy", "negative"),
                 courses=(lena(0, 40),), potential=True)
    (item,) = safety_items(rec, day(70))
    assert item.kind == "pregnancy_test_overdue" and item.date == day(68) and not item.urgent


def test_unknown_programme_is_refused():
    with pytest.raises(ValueError):
        pregnancy_monitoring(record(potential=True), day(1), programme="uk")


# -- 5.6 the worklist order ----------------------------------------------------------------


def test_a_positive_pregnancy_test_comes_first_on_the_worklist():
    rec = record(
        lab(-2, "pregnancy", "negative"),
        lab(10, "creatinine", "1.6", "mg/dL"),
        lab(12, "anc", "0.4", "x10^9/L"),
        lab(20, "pregnancy", "positive"),
        potential=True, visits=(Visit("v1", day(10), Decimal(70)),),
    )
    ordered = worklist(safety_items(rec, day(60)))
    assert [i.kind for i in ordered] == [
        "pregnancy_positive", "cytopenia", "pregnancy_test_overdue", "crcl_below_review"]
    assert ordered[0].title == "Positive pregnancy test"
    assert [URGENCY[i.kind] for i in ordered] == sorted(URGENCY[i.kind] for i in ordered)


def test_a_positive_test_before_any_start_is_not_urgent():
    rec = record(lab(-5, "pregnancy", "positive"), potential=True)
    item = next(i for i in safety_items(rec, day(-3)) if i.kind == "pregnancy_positive")
    assert not item.urgent and "before treatment" in item.title


def test_acknowledged_items_leave_the_worklist():
    items = safety_items(record(lab(14, "anc", 800, "cells/uL")), day(15))
    assert worklist(items, acknowledged=[safety_key("cytopenia_anc", day(14))]) == []


# -- 5.4 thrombosis -------------------------------------------------------------------------


def test_vte_history_without_prophylaxis_is_a_signal():
    rec = record(history=History(vte=True))
    risk = thrombosis_risk(rec, day(5))
    assert risk is not None and risk.risk_factors == ("a history of VTE",)
    (item,) = safety_items(rec, day(5))
    assert (item.kind, item.urgent) == ("thrombosis_risk", False)
    assert worklist([item]) == []


@pytest.mark.parametrize("history", [
    History(antiphospholipid="positive"), History(oestrogen_contraception=True)])
def test_each_risk_factor_counts(history):
    assert thrombosis_risk(record(history=history), day(5)) is not None


def test_aspirin_or_heparin_course_or_no_risk_factor_is_no_signal():
    aspirin = lena(0, cid="a1", drug="aspirin", mg="100")
    assert thrombosis_risk(record(courses=(lena(), aspirin), history=History(vte=True)), day(5)) is None
    heparin = lena(0, cid="h1", drug="heparin", mg="40")
    assert thrombosis_risk(record(courses=(lena(), heparin), history=History(vte=True)), day(5)) is None
    # Unknown is not a risk factor; a negative antiphospholipid neither.
    assert thrombosis_risk(record(history=History(vte=None, antiphospholipid="negative")), day(5)) is None
    # Aspirin stopped before today protects nothing.
    stopped = lena(0, 3, cid="a1", drug="aspirin", mg="100")
    assert thrombosis_risk(record(courses=(lena(), stopped), history=History(vte=True)), day(5)) is not None
    # No running lenalidomide course: nothing.
    assert thrombosis_risk(record(courses=(lena(0, 2),), history=History(vte=True)), day(5)) is None
