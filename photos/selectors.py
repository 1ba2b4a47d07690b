"""Every read the photograph pages need, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet

from clinic.access import get_for_user
from patients import selectors as patient_selectors
from patients.models import Course, Patient, Visit
from photos.models import Photo, PhotoConsent
from scoring.clasi import parse_exam, score
from scoring.instrument import CLASI
from scoring.timeline import format_mg


def photo_for_user(user, photo_id, *, write: bool = False) -> Photo:
    """One photograph through clinic access (404 outside the user's clinics)."""
    return get_for_user(user, Photo.objects.select_related("visit__patient"), photo_id, write=write)


def consent_of(patient: Patient) -> PhotoConsent | None:
    return PhotoConsent.objects.filter(patient=patient).select_related("recorded_by").first()


def visit_photos(visit: Visit) -> list[Photo]:
    return list(Photo.objects.filter(visit=visit).order_by("uploaded_at"))


def area_label(area: str) -> str:
    return CLASI.area(area).label


@dataclass(frozen=True)
class TimelineEntry:
    photo: Photo
    date: dt.date
    area_activity: int | None  # erythema + scale of this area at that visit; None: no CLASI
    area_max: int
    treatments: tuple[str, ...]


def _in_force(courses: list[Course], day: dt.date) -> tuple[str, ...]:
    """The courses running on `day` with the dose step in force (prefetched steps)."""
    running = []
    for course in courses:
        if course.start <= day and (course.end is None or day <= course.end):
            steps = [s for s in course.dose_steps.all() if s.date <= day]
            dose = ""
            if steps:
                step = steps[-1]
                every = "daily" if step.every_days == 1 else f"every {step.every_days} days"
                dose = f" {format_mg(step.mg)} mg {every}"
            running.append(f"{course.drug_label}{dose}")
    return tuple(running)


def _area_activity(visit: Visit, area: str) -> int | None:
    try:
        stored = visit.assessment
    except ObjectDoesNotExist:
        return None
    return score(parse_exam(stored.items)).area_activity.get(area, 0)


def _area_max(area: str) -> int:
    from patients.bodymap import area_max
    from scoring.instrument import ACTIVITY

    return area_max(CLASI, area, ACTIVITY)


def patient_photos(patient: Patient) -> QuerySet[Photo]:
    return Photo.objects.filter(visit__patient=patient).select_related("visit")


def photo_index(patient: Patient) -> dict:
    """Everything the photo timeline page shows: the record is read once
    (patients.selectors.patient_record) plus one query for the photographs."""
    record = patient_selectors.patient_record(patient)
    visits = {v.pk: v for v in record["visits"]}
    photos = sorted(
        Photo.objects.filter(visit__patient=patient),
        key=lambda p: (visits[p.visit_id].date, p.uploaded_at),
    )
    counts: dict[str, int] = {}
    for photo in photos:
        photo.visit = visits[photo.visit_id]  # no query per photograph
        for area in photo.areas:
            counts[area] = counts.get(area, 0) + 1
    return {"photos": photos, "counts": counts, "courses": record["courses"], "visits": visits}


def area_timeline(index: dict, area: str) -> list[TimelineEntry]:
    """The photographs of one area in date order, with that visit's area
    CLASI-A (erythema + scale) and the treatments in force that day."""
    maximum = _area_max(area)
    cache: dict = {}
    entries = []
    for photo in index["photos"]:
        if area not in photo.areas:
            continue
        visit = photo.visit
        if visit.pk not in cache:
            cache[visit.pk] = (_area_activity(visit, area), _in_force(index["courses"], visit.date))
        activity, treatments = cache[visit.pk]
        entries.append(TimelineEntry(photo, visit.date, activity, maximum, treatments))
    return entries
