"""Every read the photograph pages need, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from clinic.access import get_for_user
from clinical.instruments.clasi import CLASI
from clinical.instruments.exam import parse_exam, score
from clinical.instruments.instrument import ACTIVITY
from clinical.record import Assessment, PatientRecord
from patients.models import Patient, Visit
from patients.snapshot import record_for
from photos.models import Photo, PhotoConsent


def photo_for_user(user, photo_id, *, write: bool = False) -> Photo:
    """One photograph through clinic access (404 outside the user's clinics)."""
    return get_for_user(user, Photo.objects.select_related("visit__patient"), photo_id, write=write)


def consent_of(patient: Patient) -> PhotoConsent | None:
    return PhotoConsent.objects.filter(patient=patient).select_related("recorded_by").first()


def visit_photos(visit: Visit) -> list[Photo]:
    return list(Photo.objects.filter(visit=visit).order_by("uploaded_at"))


# Thumbnails on the patient page: enough to recognise the last visits' photographs,
# few enough for the page's budget (README: 30 KB of HTML plus the thumbnails).
RECENT = 6


def recent_photos(patient: Patient, limit: int = RECENT) -> tuple[list[Photo], bool]:
    """The patient's latest photographs (visit date, then upload, newest first),
    in ONE query whatever their number; and whether there are more."""
    rows = list(
        Photo.objects.filter(visit__patient=patient).select_related("visit")
        .order_by("-visit__date", "-uploaded_at")[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def area_label(area: str) -> str:
    return CLASI.area(area).label


@dataclass(frozen=True)
class TimelineEntry:
    photo: Photo
    date: dt.date
    area_activity: int | None  # erythema + scale of this area at that visit; None: no CLASI
    area_max: int
    treatments: tuple[str, ...]


def _area_activity(assessment: Assessment | None, area: str) -> int | None:
    if assessment is None or assessment.items is None:
        return None
    return score(parse_exam(assessment.items)).area_activity.get(area, 0)


def _area_max(area: str) -> int:
    from patients.bodymap import area_max

    return area_max(CLASI, area, ACTIVITY)


def patient_photos(patient: Patient) -> QuerySet[Photo]:
    return Photo.objects.filter(visit__patient=patient).select_related("visit")


def photo_index(patient: Patient) -> dict:
    """Everything the photo timeline page shows: the record read once by the
    snapshot reader, plus one query for the photographs (with their visit)."""
    record = record_for(patient)
    photos = sorted(
        Photo.objects.filter(visit__patient=patient).select_related("visit"),
        key=lambda p: (p.visit.date, p.uploaded_at),
    )
    counts: dict[str, int] = {}
    for photo in photos:
        for area in photo.areas:
            counts[area] = counts.get(area, 0) + 1
    return {"photos": photos, "counts": counts, "record": record}


def area_timeline(index: dict, area: str) -> list[TimelineEntry]:
    """The photographs of one area in date order, with that visit's area
    CLASI-A (erythema + scale) and the treatments in force that day."""
    record: PatientRecord = index["record"]
    assessments = {a.visit_id: a for a in record.assessments}
    maximum = _area_max(area)
    cache: dict = {}
    entries = []
    for photo in index["photos"]:
        if area not in photo.areas:
            continue
        visit = photo.visit
        if visit.pk not in cache:
            cache[visit.pk] = (
                _area_activity(assessments.get(str(visit.pk)), area),
                tuple(t.text for t in record.treatments_on(visit.date)),
            )
        activity, treatments = cache[visit.pk]
        entries.append(TimelineEntry(photo, visit.date, activity, maximum, treatments))
    return entries
