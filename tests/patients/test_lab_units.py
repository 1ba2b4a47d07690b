"""The units the visit form pre-fills are the units the clinical rules read.

Found in review: the form offered "×10⁹/L" (superscript nine) while the
safety limits knew only "10^9/L", so an ANC of 0.3 entered through the form
raised no neutropenia signal and vanished from the chart.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from patients.forms import default_lab_unit
from clinical.labs import LABS
from clinical.rules.signals import safety_signals, systemic_signals
from clinical.record import Course, DoseStep, Lab, PatientRecord

D = dt.date


def test_every_pre_filled_unit_is_on_its_tests_list_so_rules_read_it():
    from clinical.labs import normalise_unit

    for test in LABS:
        if LABS[test].numeric:
            normalise_unit(test, default_lab_unit(test))  # UnknownUnit would leave the value out of every rule


def test_low_counts_in_the_form_units_raise_safety_signals():
    course = Course("c", D(2025, 1, 1), None, None, (DoseStep(D(2025, 1, 1), Decimal(5)),))
    timeline = PatientRecord(
        "X",
        courses=(course,),
        labs=(
            Lab(D(2025, 2, 1), "anc", Decimal("0.3"), default_lab_unit("anc")),
            Lab(D(2025, 2, 1), "platelets", Decimal("12"), default_lab_unit("platelets")),
        ),
    )
    assert {s.test for s in safety_signals(timeline)} == {"anc", "platelets"}


def test_low_complement_in_the_form_units_raises_a_systemic_signal():
    timeline = PatientRecord(
        "X", labs=(Lab(D(2025, 2, 1), "c3", Decimal("0.5"), default_lab_unit("c3")),)
    )
    assert [s.test for s in systemic_signals(timeline)] == ["c3"]
