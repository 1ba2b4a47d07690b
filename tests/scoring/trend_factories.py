"""Synthetic patients with courses, withdrawals, dose steps, labs and flags (issue 5 tests).

Written through patients.services, the way the app writes, so the tests see
exactly what the pages read. Dates are relative to today (a visit may not be
in the future): ORIGIN is the first course's start.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from patients import services
from patients.models import Patient
from clinical.instruments.exam import parse_exam
from clinical.instruments.clasi import CLASI

AREAS = [area.key for area in CLASI.areas]


def exam_with(activity: int, damage: int = 2):
    """An examination scoring exactly `activity` / `damage` (activity <= 65, damage <= 13)."""
    assert 0 <= activity <= 65 and 0 <= damage <= 13
    areas: dict[str, dict[str, int]] = {}
    left = activity
    for key in AREAS:  # erythema first (3 per area), then scale (2 per area)
        take = min(3, left)
        if take:
            areas.setdefault(key, {})["erythema"] = take
            left -= take
    for key in AREAS:
        take = min(2, left)
        if take:
            areas.setdefault(key, {})["scale"] = take
            left -= take
    for key in AREAS[:damage]:
        areas.setdefault(key, {})["dyspigmentation"] = 1
    return parse_exam({"instrument": "CLASI", "areas": areas})


def origin(span_days: int = 800) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=span_days)


def lab(test: str, value: str, unit: str) -> services.LabInput:
    return services.LabInput(test=test, value=Decimal(value), unit=unit)


def build_history(clinic, code: str, n_visits: int = 5, clinician=None, o: dt.date | None = None) -> Patient:
    """A patient whose first course ends in complete response and relapses 3 weeks later.

    - course 1: O .. O+112 (remission), 10 mg daily, then 10 mg every 2 days from O+56;
    - visits: O-3 CLASI-A 12 (baseline), O+42 0, O+112 0 (withdrawal day, in CR),
      O+133 4 -> relapse after complete response, 3 weeks after withdrawal
      (also C3 low and anti-dsDNA turning positive), O+161 10;
    - course 2 running from O+161 (10 mg daily, 5 mg daily from O+240);
    - any further visits every 3 days from O+168 with ANC/platelets.
    """
    o = o or origin()
    d = lambda n: o + dt.timedelta(days=n)  # noqa: E731
    patient = services.create_patient(clinic, code=code, name="", sex="F")
    first = services.start_course(patient, start=d(0), mg=Decimal("10"), every_days=1)
    services.add_dose_step(first, date=d(56), mg=Decimal("10"), every_days=2)
    services.withdraw(first, end=d(112), stop_reason="remission")
    fixed = [
        (d(-3), 12, [lab("c3", "0.95", "g/L"), lab("anti_dsdna", "5", "IU/mL"), lab("anc", "2.5", "x10^9/L")]),
        (d(42), 0, [lab("platelets", "210", "x10^9/L")]),
        (d(112), 0, [lab("c3", "1.0", "g/L"), lab("anti_dsdna", "6", "IU/mL")]),
        (d(133), 4, [lab("c3", "0.7", "g/L"), lab("anti_dsdna", "30", "IU/mL"), lab("anc", "0.8", "x10^9/L")]),
        (d(161), 10, [lab("c4", "0.08", "g/L")]),
    ]
    for day, activity, labs in fixed[:n_visits]:
        services.record_visit(patient, date=day, clinician=clinician, exam=exam_with(activity), labs=labs)
    second = services.start_course(patient, start=d(161), mg=Decimal("10"), every_days=1)
    services.add_dose_step(second, date=d(240), mg=Decimal("5"), every_days=1)
    for i in range(max(0, n_visits - len(fixed))):
        day = d(168 + 3 * i)
        services.record_visit(
            patient,
            date=day,
            clinician=clinician,
            exam=exam_with(max(1, 9 - i // 10)),
            labs=[lab("anc", "2.1", "x10^9/L"), lab("platelets", "190", "x10^9/L")],
        )
    return patient
