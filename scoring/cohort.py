"""One clinic's cohort as the outcome report and chart datasets see it.

Shared by the cohort page and `manage.py cohort_report` so both show the same
numbers: records come from patients.snapshot (a fixed number of queries,
values() rows, whatever the clinic's size), the rules from clinical.rules.outcomes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from clinic.models import Clinic
from patients.models import Patient
from clinical.rules import outcomes
from patients.snapshot import records_for
from scoring.selectors import thresholds
from clinical.record import PatientRecord, Thresholds


@dataclass(frozen=True)
class ClinicCohort:
    clinic: Clinic
    as_of: dt.date
    thresholds: Thresholds
    timelines: tuple[PatientRecord, ...]

    def report(self) -> dict[str, Any]:
        return outcomes.cohort_report(self.timelines, self.thresholds, self.as_of)

    def relapse_free(self) -> outcomes.KaplanMeier:
        return outcomes.relapse_free_curve(self.timelines, self.thresholds, self.as_of)

    def activity_by_week(self) -> list[outcomes.WeekActivity]:
        return outcomes.mean_activity_by_week(
            self.timelines, self.as_of, thresholds=self.thresholds
        )


def clinic_cohort(clinic: Clinic, as_of: dt.date) -> ClinicCohort:
    """Every patient of `clinic`, read as of `as_of` (later entries do not count yet)."""
    timelines = records_for(Patient.objects.filter(clinic=clinic), full=False)
    return ClinicCohort(clinic, as_of, thresholds(), tuple(timelines.values()))
