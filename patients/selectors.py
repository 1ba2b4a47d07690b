"""Every read a page needs, in a fixed number of queries.

A page's query count must not grow with the number of patients or visits:
related rows come with select_related/prefetch_related or subqueries, never
one query per row.
"""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from clinic.access import scoped
from patients.models import Course, DoseStep, Patient, Visit


def patients_for(user) -> QuerySet[Patient]:
    """The user's patients with their clinic, latest CLASI and current dose annotated."""
    from scoring.models import Assessment

    latest = Assessment.objects.filter(visit__patient=OuterRef("pk")).order_by("-visit__date")
    running_step = DoseStep.objects.filter(
        course__patient=OuterRef("pk"), course__end__isnull=True
    ).order_by("-date")
    return (
        scoped(user, Patient)
        .select_related("clinic")
        .annotate(
            latest_activity=Subquery(latest.values("activity")[:1]),
            latest_damage=Subquery(latest.values("damage")[:1]),
            latest_assessed=Subquery(latest.values("visit__date")[:1]),
            current_mg=Subquery(running_step.values("mg")[:1]),
            current_every_days=Subquery(running_step.values("every_days")[:1]),
        )
        .order_by("clinic__name", "code")
    )


def patient_record(patient: Patient) -> dict:
    """The visits (with assessment, labs, events) and courses (with dose steps) of
    one patient: four queries whatever the number of visits."""
    visits = list(
        Visit.objects.filter(patient=patient)
        .select_related("assessment", "clinician")
        .prefetch_related("labs", "adverse_events")
        .order_by("date")
    )
    courses = list(
        Course.objects.filter(patient=patient)
        .prefetch_related(Prefetch("dose_steps", queryset=DoseStep.objects.order_by("date")))
        .order_by("start")
    )
    return {"visits": visits, "courses": courses}
