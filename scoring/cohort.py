"""One clinic's cohort as the outcome report and chart datasets see it.

Shared by the cohort page and `manage.py cohort_report` so both show the same
numbers: records come from patients.snapshot (a fixed number of queries,
values() rows, whatever the clinic's size), the rules from clinical.rules.outcomes,
run ONCE per cohort (`rules`): the report, the Kaplan-Meier curve, the
activity chart and the page-only tables all read that one answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from clinic.models import Clinic
from clinical.drugs import registry as drugs
from clinical.record import PatientRecord, Thresholds
from clinical.rules import outcomes, report_sections
from patients.models import Patient
from patients.snapshot import records_for
from scoring.selectors import thresholds

DEFAULT_DRUG = "lenalidomide"


def watched_drugs() -> tuple[str, ...]:
    """The drugs a report can be about (clasi.md section 3), in the registry's order."""
    watched = drugs.watched_keys()
    return tuple(key for key in drugs.DRUGS if key in watched)


@dataclass(frozen=True)
class ClinicCohort:
    clinic: Clinic
    as_of: dt.date
    thresholds: Thresholds
    timelines: tuple[PatientRecord, ...]
    drug: str = DEFAULT_DRUG
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def rules(self) -> tuple[outcomes.PatientRules, ...]:
        return outcomes.run_rules(self.timelines, self.thresholds, self.as_of, self.drug)

    @cached_property
    def courses(self) -> list[report_sections.CourseFacts]:
        return [c for r in self.rules for c in r.courses(self.drug)]

    def report(self) -> dict[str, Any]:
        if "report" not in self._cache:
            self._cache["report"] = outcomes.cohort_report(
                self.timelines, self.thresholds, self.as_of, self.drug, rules=self.rules
            )
        return self._cache["report"]

    def relapse_free(self) -> outcomes.KaplanMeier:
        return outcomes.relapse_free_curve(
            self.timelines, self.thresholds, self.as_of, self.drug, rules=self.rules
        )

    def activity_by_week(self) -> list[outcomes.WeekActivity]:
        """The report's CLASI-A by week (0, 2, 4, 12, 24) as chart points: the chart
        and the table under it are the same numbers."""
        from fractions import Fraction

        points = []
        for week, cell in self.report()["mean_activity_by_week"].items():
            if cell["n"]:
                mean = Fraction(str(cell["mean"]))
                points.append(outcomes.WeekActivity(int(week), mean, cell["n"]))
        return points

    def table_one(self) -> dict[str, Any]:
        return report_sections.table_one(self.courses)

    def immunology(self) -> list[dict[str, Any]]:
        return report_sections.immunology(self.courses, self.as_of, self.thresholds)

    def drugs_present(self) -> tuple[str, ...]:
        """The watched drugs the clinic has courses of (read from the loaded records)."""
        present = {c.drug for t in self.timelines for c in t.courses}
        return tuple(d for d in watched_drugs() if d in present)


def clinic_cohort(clinic: Clinic, as_of: dt.date, drug: str = DEFAULT_DRUG) -> ClinicCohort:
    """Every patient of `clinic`, read as of `as_of` (later entries do not count yet)."""
    timelines = records_for(Patient.objects.filter(clinic=clinic), full=False, adverse_events=True)
    return ClinicCohort(clinic, as_of, thresholds(), tuple(timelines.values()), drug)
