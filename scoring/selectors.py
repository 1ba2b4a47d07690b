"""Reads that turn the stored record into the pure timelines of scoring.timeline.

`timelines_for` runs a fixed number of queries (four) whatever the number of
patients, visits or courses, and reads plain values() rows rather than model
instances, so the cohort report over thousands of patients stays cheap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet

from patients.models import Course as StoredCourse, DoseStep, LabResult, LabTest, Patient
from scoring.models import Assessment as StoredAssessment
from scoring.timeline import Assessment, Course, DoseStep as Dose, LabValue, PatientTimeline, Thresholds


def thresholds() -> Thresholds:
    """The site's flare thresholds (settings.CLE_FLARE_THRESHOLDS)."""
    return Thresholds(**settings.CLE_FLARE_THRESHOLDS)


def timelines_for(patients: QuerySet[Patient] | Iterable[Patient]) -> dict:
    """PatientTimeline per patient id, in four queries.

    `patients` may be a queryset (used as a subquery, never materialised
    twice) or already-loaded patients.
    """
    if isinstance(patients, QuerySet):
        rows = list(patients.values("id", "code", "sle", "sle_diagnosed"))
    else:
        rows = [
            {"id": p.pk, "code": p.code, "sle": p.sle, "sle_diagnosed": p.sle_diagnosed}
            for p in patients
        ]
    # A queryset stays a subquery: no 2,000-element IN list (SQLite caps parameters).
    ids = patients.values("id") if isinstance(patients, QuerySet) else [row["id"] for row in rows]
    assessments: dict = defaultdict(list)
    for a in StoredAssessment.objects.filter(visit__patient_id__in=ids).values_list(
        "visit__patient_id", "visit_id", "visit__date", "activity", "damage"
    ):
        assessments[a[0]].append(Assessment(str(a[1]), a[2], a[3], a[4]))

    doses: dict = defaultdict(list)
    courses_meta: dict = defaultdict(list)
    for step in DoseStep.objects.filter(course__patient_id__in=ids).values_list(
        "course_id", "date", "mg", "every_days"
    ):
        doses[step[0]].append(Dose(step[1], step[2], step[3]))

    for c in StoredCourse.objects.filter(patient_id__in=ids).values_list(
        "patient_id", "id", "start", "end", "stop_reason"
    ):
        courses_meta[c[0]].append(
            Course(str(c[1]), c[2], c[3], c[4] or None, tuple(doses.get(c[1], ())))
        )

    labs: dict = defaultdict(list)
    for lab in LabResult.objects.filter(visit__patient_id__in=ids).values_list(
        "visit__patient_id", "visit__date", "test", "value", "result", "unit"
    ):
        value = lab[4] if lab[2] == LabTest.PREGNANCY else lab[3]
        labs[lab[0]].append(LabValue(lab[1], lab[2], value, lab[5]))

    return {
        row["id"]: PatientTimeline(
            code=row["code"],
            courses=tuple(courses_meta.get(row["id"], ())),
            assessments=tuple(assessments.get(row["id"], ())),
            labs=tuple(labs.get(row["id"], ())),
            sle_diagnosed=row["sle_diagnosed"],
            sle=row["sle"],
        )
        for row in rows
    }


def timeline_for(patient: Patient) -> PatientTimeline:
    return timelines_for([patient])[patient.pk]


def patient_analysis(patient: Patient, record: dict) -> dict:
    """Context for the patient page's trend chart, flags and course summary.

    `record` is patients.selectors.patient_record(patient) (visits, courses),
    already loaded: the analysis must not query per visit.
    """
    return {}
