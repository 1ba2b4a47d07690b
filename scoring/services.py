"""The only writer of CLASI assessments: totals always come from the items."""

from __future__ import annotations

from django.db import transaction

from patients.models import Visit
from scoring.clasi import Exam, score
from scoring.models import Assessment


@transaction.atomic
def save_assessment(visit: Visit, exam: Exam) -> Assessment:
    """Store `exam` as the visit's assessment, scored here and nowhere else."""
    result = score(exam)
    values = {
        "instrument": exam.instrument,
        "version": exam.version,
        "items": exam.to_dict(compact=False),
        "activity": result.activity,
        "damage": result.damage,
        "severity": result.severity,
        "activity_parts": dict(result.activity_parts),
        "damage_parts": dict(result.damage_parts),
    }
    assessment, _ = Assessment.objects.update_or_create(visit=visit, defaults=values)
    return assessment


@transaction.atomic
def remove_assessment(visit: Visit) -> None:
    Assessment.objects.filter(visit=visit).delete()
