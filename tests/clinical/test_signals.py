"""Systemic signals beside skin flares (clasi.md section 3 end) and safety counts (section 5)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinical.rules.signals import (
    CTCAE_LIMITS,
    REFERENCE_RANGES,
    SAFETY_LIMITS,
    ReferenceRange,
    safety_signals,
    systemic_signals,
)
from clinical.record import Course, DoseStep, Lab, PatientRecord

START = dt.date(2020, 1, 6)


def on(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def lab(n: int, test: str, value: int | str | Decimal, unit: str) -> Lab:
    return Lab(on(n), test, Decimal(value), unit)


def timeline(*labs: Lab, sle_diagnosed=None, sle=False, end=None) -> PatientRecord:
    c = Course("c1", START, end, "remission" if end else None, (DoseStep(START, Decimal(10)),))
    return PatientRecord("P", (c,), (), tuple(labs), sle_diagnosed, sle)


def kinds(signals) -> list[tuple[str, dt.date]]:
    return [(s.kind, s.date) for s in signals]


# ---------------------------------------------------------------- anti-dsDNA


def test_anti_dsdna_above_range_after_being_within_it():
    signals = systemic_signals(
        timeline(lab(0, "anti_dsdna", 8, "IU/mL"), lab(60, "anti_dsdna", 25, "IU/mL"))
    )
    assert kinds(signals) == [("anti_dsdna_positive", on(60))]
    assert signals[0].test == "anti_dsdna" and signals[0].value == Decimal(25)
    assert "above the reference range after being within it (<= 10 IU/mL)" in signals[0].message


def test_anti_dsdna_at_the_upper_limit_is_within_range():
    signals = systemic_signals(
        timeline(lab(0, "anti_dsdna", 8, "IU/mL"), lab(60, "anti_dsdna", 10, "IU/mL"))
    )
    assert signals == []
    signals = systemic_signals(
        timeline(lab(0, "anti_dsdna", 10, "IU/mL"), lab(60, "anti_dsdna", "10.1", "IU/mL"))
    )
    assert kinds(signals) == [("anti_dsdna_positive", on(60))]


def test_anti_dsdna_first_value_above_range_and_its_doubling_are_signals():
    # clasi.md section 3: "a doubling, or a first value above the range".
    labs = [lab(0, "anti_dsdna", 40, "IU/mL"), lab(60, "anti_dsdna", 80, "IU/mL")]
    signals = systemic_signals(timeline(*labs))
    assert kinds(signals) == [("anti_dsdna_positive", on(0)), ("anti_dsdna_positive", on(60))]
    assert "first value" in signals[0].message
    assert "doubled since the previous value (40 IU/mL)" in signals[1].message


def test_anti_dsdna_rising_less_than_double_while_positive_is_not_a_signal():
    labs = [lab(0, "anti_dsdna", 40, "IU/mL"), lab(30, "anti_dsdna", 79, "IU/mL"),
            lab(60, "anti_dsdna", 158, "IU/mL")]
    # 79 < 2 x 40: nothing; 158 = 2 x 79: a doubling of the previous value.
    assert kinds(systemic_signals(timeline(*labs))) == [
        ("anti_dsdna_positive", on(0)), ("anti_dsdna_positive", on(60))]


def test_anti_dsdna_turning_positive_again_is_a_new_signal():
    labs = [
        lab(d, "anti_dsdna", v, "IU/mL")
        for d, v in ((0, 5), (30, 20), (60, 30), (90, 6), (120, 15))
    ]
    assert kinds(systemic_signals(timeline(*labs))) == [
        ("anti_dsdna_positive", on(30)),
        ("anti_dsdna_positive", on(120)),
    ]


def test_a_value_in_another_unit_is_skipped_not_compared():
    # 25 U/mL from another assay is neither positive nor "within range".
    labs = [lab(0, "anti_dsdna", 5, "U/mL"), lab(30, "anti_dsdna", 25, "U/mL")]
    assert systemic_signals(timeline(*labs)) == []
    # ...and it does not count as the "within range" value before a positive one.
    # The 25 IU/mL is then the first comparable value: positive as a first value.
    labs = [lab(0, "anti_dsdna", 5, "U/mL"), lab(30, "anti_dsdna", 25, "IU/mL")]
    (signal,) = systemic_signals(timeline(*labs))
    assert signal.date == on(30) and "first value" in signal.message


def test_unit_spelling_is_forgiven_for_the_same_unit():
    labs = [lab(0, "anti_dsdna", 5, "IU/ml"), lab(30, "anti_dsdna", 25, " iu / mL ")]
    assert kinds(systemic_signals(timeline(*labs))) == [("anti_dsdna_positive", on(30))]


# ---------------------------------------------------------------- complement, proteinuria


@pytest.mark.parametrize(
    ("test", "value", "low"),
    [("c3", "0.89", True), ("c3", "0.9", False), ("c4", "0.09", True), ("c4", "0.1", False)],
)
def test_complement_below_range(test, value, low):
    signals = systemic_signals(timeline(lab(30, test, value, "g/L")))
    assert kinds(signals) == ([("complement_low", on(30))] if low else [])


def test_complement_staying_low_is_one_signal_per_episode():
    labs = [
        lab(d, "c3", v, "g/L")
        for d, v in ((0, "1.0"), (30, "0.7"), (60, "0.6"), (90, "1.1"), (120, "0.8"))
    ]
    assert kinds(systemic_signals(timeline(*labs))) == [
        ("complement_low", on(30)),
        ("complement_low", on(120)),
    ]


def test_c3_and_c4_are_followed_separately():
    labs = [lab(0, "c3", "0.7", "g/L"), lab(0, "c4", "0.05", "g/L"), lab(30, "c4", "0.04", "g/L")]
    signals = systemic_signals(timeline(*labs))
    assert [(s.test, s.date) for s in signals] == [("c3", on(0)), ("c4", on(0))]


def test_complement_in_mg_per_dl_is_compared_in_its_canonical_unit():
    # clasi.md 5.5: mg/dL x 0.01 -> g/L. 100 mg/dL = 1.0 g/L (within), 70 mg/dL = 0.7 g/L (low).
    signals = systemic_signals(timeline(lab(0, "c3", 100, "mg/dL"), lab(30, "c3", 70, "mg/dL")))
    assert kinds(signals) == [("complement_low", on(30))]
    assert signals[0].message.startswith("C3 70 mg/dL (= 0.7 g/L) on ")


def test_a_stored_unit_off_the_list_is_skipped_never_guessed():
    # An old row in mg/L (not on the C3 list) has no canonical value: it stays out.
    assert systemic_signals(timeline(lab(0, "c3", 1000, "mg/L"), lab(30, "c3", 70, "mg/L"))) == []


@pytest.mark.parametrize("scale, unit", [(1, "g/24h"), (1000, "mg/24h")])
def test_new_proteinuria_above_half_a_gram_a_day(scale, unit):
    # clasi.md section 3: new proteinuria is > 0.5 g/24 h (0.5 itself is within).
    labs = [
        lab(0, "urine_protein", str(Decimal("0.1") * scale), unit),
        lab(30, "urine_protein", str(Decimal("0.5") * scale), unit),
        lab(60, "urine_protein", str(Decimal("0.51") * scale), unit),
        lab(90, "urine_protein", str(Decimal("0.9") * scale), unit),
    ]
    assert kinds(systemic_signals(timeline(*labs))) == [("proteinuria", on(60))]


@pytest.mark.parametrize("value, unit", [("51", "mg/mmol"), ("451", "mg/g")])
def test_new_proteinuria_by_protein_creatinine_ratio(value, unit):
    # > 50 mg/mmol; 451 mg/g x 0.1131 = 51.0 mg/mmol.
    labs = [lab(0, "upcr", "20", "mg/mmol"), lab(30, "upcr", value, unit)]
    assert kinds(systemic_signals(timeline(*labs))) == [("proteinuria", on(30))]


# ---------------------------------------------------------------- SLE diagnosis


def test_sle_diagnosed_during_a_course():
    (signal,) = systemic_signals(timeline(sle=True, sle_diagnosed=on(100)))
    assert (signal.kind, signal.date, signal.test, signal.value) == (
        "sle_diagnosis",
        on(100),
        None,
        None,
    )
    assert "during a lenalidomide course" in signal.message


def test_sle_diagnosed_after_a_course():
    (signal,) = systemic_signals(timeline(sle=True, sle_diagnosed=on(200), end=on(150)))
    assert "after a lenalidomide course" in signal.message


def test_sle_diagnosed_on_the_start_day_counts_and_before_it_does_not():
    assert systemic_signals(timeline(sle=True, sle_diagnosed=START))
    assert systemic_signals(timeline(sle=True, sle_diagnosed=on(-1))) == []


def test_sle_without_a_date_or_without_a_course_raises_nothing():
    assert systemic_signals(timeline(sle=True)) == []
    no_course = PatientRecord("P", (), (), (), on(10), True)
    assert systemic_signals(no_course) == []


# ---------------------------------------------------------------- safety


@pytest.mark.parametrize(
    ("test", "value", "kind", "grade"),
    [
        ("anc", "1.49", "neutropenia", 2),
        ("anc", "1.5", None, None),
        ("anc", "0.99", "neutropenia", 3),
        ("anc", "1.0", "neutropenia", 2),
        ("anc", "0.49", "neutropenia", 4),
        ("anc", "0.5", "neutropenia", 3),
        ("platelets", "74", "thrombocytopenia", 2),
        ("platelets", "75", None, None),
        ("platelets", "49", "thrombocytopenia", 3),
        ("platelets", "50", "thrombocytopenia", 2),
        ("platelets", "24", "thrombocytopenia", 4),
    ],
)
def test_safety_limits_are_the_ctcae_grades(test, value, kind, grade):
    signals = safety_signals(timeline(lab(14, test, value, "x10^9/L")))
    assert kinds(signals) == ([(kind, on(14))] if kind else [])
    assert [s.grade for s in signals] == ([grade] if grade else [])


@pytest.mark.parametrize(
    ("value", "unit", "grade"),
    [("9.9", "g/dL", 2), ("10", "g/dL", None), ("79", "g/L", 3), ("80", "g/L", 2)],
)
def test_haemoglobin_is_graded_in_g_per_dl(value, unit, grade):
    signals = safety_signals(timeline(lab(14, "hemoglobin", value, unit)))
    assert [s.grade for s in signals] == ([grade] if grade else [])
    assert all(s.kind == "anaemia" for s in signals)


def test_every_low_count_is_a_safety_signal():
    labs = [
        lab(7, "anc", "0.8", "10^9/L"),
        lab(14, "anc", "0.7", "G/L"),
        lab(21, "anc", "1.5", "×10^9/L"),
        lab(28, "anc", "900", "cells/uL"),
    ]
    signals = safety_signals(timeline(*labs))
    # 1.5 is not below the grade 2 limit (1.5): not graded.
    assert kinds(signals) == [("neutropenia", on(7)), ("neutropenia", on(14)), ("neutropenia", on(28))]
    assert signals[0].message == (
        "ANC 0.8 10^9/L on 2020-01-13: CTCAE grade 3 (below 1.5 10^9/L)"
    )
    assert signals[0].title == "Grade 3 neutropenia"
    assert signals[2].message.startswith("ANC 900 cells/uL (= 0.9 10^9/L) on ")


def test_a_count_in_a_unit_off_the_list_is_skipped():
    assert (
        safety_signals(timeline(lab(7, "anc", 800, "/mm3"), lab(7, "platelets", 30000, "/mm3"))) == []
    )


def test_a_positive_pregnancy_test_is_a_safety_signal():
    labs = [
        Lab(on(0), "pregnancy", "negative", ""),
        Lab(on(28), "pregnancy", "positive", ""),
    ]
    (signal,) = safety_signals(timeline(*labs))
    assert (signal.kind, signal.date) == ("pregnancy_positive", on(28))
    assert "teratogenic" in signal.message


def test_safety_and_systemic_signals_do_not_mix():
    labs = [lab(0, "anc", "0.5", "x10^9/L"), lab(0, "c3", "0.5", "g/L")]
    assert [s.kind for s in systemic_signals(timeline(*labs))] == ["complement_low"]
    assert [s.kind for s in safety_signals(timeline(*labs))] == ["neutropenia"]


# ---------------------------------------------------------------- data, robustness


def test_reference_ranges_are_data_a_site_can_replace():
    local = (ReferenceRange("anti_dsdna", None, Decimal(30)),)
    labs = [lab(0, "anti_dsdna", 5, "IU/mL"), lab(30, "anti_dsdna", 25, "IU/mL")]
    assert systemic_signals(timeline(*labs)) != []
    assert systemic_signals(timeline(*labs), ranges=local) == []
    assert {r.test for r in REFERENCE_RANGES} == {"anti_dsdna", "c3", "c4", "urine_protein", "upcr"}
    assert {r.test for r in SAFETY_LIMITS} == {"anc", "platelets"}
    assert {r.test for r in CTCAE_LIMITS} == {"anc", "platelets", "hemoglobin"}


def test_missing_or_non_numeric_values_are_skipped():
    labs = [
        Lab(on(0), "c3", None, "g/L"),  # type: ignore[arg-type]
        Lab(on(1), "c3", "n/a", "g/L"),
        Lab(on(2), "c3", Decimal("0.5"), None),  # type: ignore[arg-type]
        Lab(on(3), "anc", "NaN", "x10^9/L"),
    ]
    assert systemic_signals(timeline(*labs)) == []
    assert safety_signals(timeline(*labs)) == []


values = st.decimals(min_value=0, max_value=3, places=2)


@settings(max_examples=200, deadline=None)
@given(st.lists(values, max_size=12))
def test_complement_signals_start_each_low_episode(series):
    labs = [lab(i * 7, "c3", v, "g/L") for i, v in enumerate(series)]
    signals = systemic_signals(timeline(*labs))
    low = [v < Decimal("0.9") for v in series]
    starts = [i for i, is_low in enumerate(low) if is_low and (i == 0 or not low[i - 1])]
    assert [s.date for s in signals] == [on(i * 7) for i in starts]
    assert all(s.value < Decimal("0.9") for s in signals)
