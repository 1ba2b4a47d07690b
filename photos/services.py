"""Every write of photographs and photographic consent.

An upload is all or nothing: every file is checked and cleaned (photos.imaging)
before anything is written; the rows are created in one transaction and the
files written inside it, removed again if anything fails. File removal after
a delete waits for the transaction's commit, so a rolled-back delete never
loses a photograph.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone

from patients.models import Patient, Visit
from photos import imaging
from photos.models import ConsentLevel, Photo, PhotoConsent
from clinical.instruments.clasi import CLASI

log = logging.getLogger(__name__)

CAPTION_MAX = 300


def photo_storage() -> Storage:
    return storages["photos"]


def limits() -> imaging.Limits:
    conf = settings.CLE_PHOTO_LIMITS
    return imaging.Limits(
        max_pixels=conf["max_pixels"], max_side=conf["max_side"],
        screen_side=conf["screen_side"], thumb_side=conf["thumb_side"],
    )


@dataclass(frozen=True)
class PhotoInput:
    """One photograph of an upload; `prefix` names its form fields in messages."""

    prefix: str
    file: object  # an UploadedFile (or any binary file object with .name and .size)
    areas: Sequence[str] = ()
    caption: str = ""
    label: str = field(default="")  # "Photograph 1", for messages

    def key(self, name: str) -> str:
        return f"{self.prefix}-{name}"


# -- consent -------------------------------------------------------------------


def consent_error(patient: Patient) -> str | None:
    consent = PhotoConsent.objects.filter(patient=patient).first()
    if consent is None:
        return (f"{patient.code} has no photographic consent on record: record the patient's "
                "consent (at least “for the medical record only”) before uploading.")
    if not consent.allows(ConsentLevel.RECORD):
        return (f"{patient.code}'s photographic consent is “{consent.get_level_display()}” "
                f"(since {consent.given_on:%Y-%m-%d}): no photograph may be added.")
    return None


@transaction.atomic
def record_consent(patient: Patient, *, level: str, given_on: dt.date, recorded_by,
                   note: str = "") -> PhotoConsent:
    errors = {}
    if level not in ConsentLevel.values:
        errors["level"] = f"“{level}” is not a consent level; choose one of the list."
    if given_on is None:
        errors["given_on"] = "Enter the date the patient gave (or refused) consent."
    elif given_on > timezone.localdate():
        errors["given_on"] = "The date of consent cannot be in the future."
    if len(note) > 300:
        errors["note"] = "Keep the note under 300 characters."
    if errors:
        raise ValidationError(errors)
    # The row of this patient is updated in place; the audit trail keeps every earlier value.
    consent = PhotoConsent.objects.select_for_update().filter(patient=patient).first()
    if consent is None:
        consent = PhotoConsent(patient=patient)
    consent.level, consent.given_on, consent.note = level, given_on, note.strip()
    consent.recorded_by = recorded_by
    consent.save()
    return consent


# -- upload --------------------------------------------------------------------


def _check_areas(item: PhotoInput, errors: dict) -> list[str]:
    known = set(CLASI.area_keys)
    areas = list(dict.fromkeys(a.strip() for a in item.areas if a.strip()))
    unknown = [a for a in areas if a not in known]
    if unknown:
        errors[item.key("areas")] = (
            f"{', '.join(repr(a) for a in unknown)} is not a CLASI area; pick areas on the body map "
            "or from the list."
        )
    elif not areas:
        errors[item.key("areas")] = "Choose at least one CLASI area this photograph shows."
    return areas


def _cleaned(item: PhotoInput, errors: dict, max_bytes: int) -> imaging.CleanImage | None:
    name = getattr(item.file, "name", "") or "The file"
    size = getattr(item.file, "size", None)
    if size is not None and size > max_bytes:
        errors[item.key("file")] = (
            f"{name} is {size / 1_048_576:.1f} MB; the limit is {max_bytes // 1_048_576} MB."
        )
        return None
    if size == 0:
        errors[item.key("file")] = f"{name} is empty."
        return None
    try:
        item.file.seek(0)
        return imaging.clean(item.file, limits())
    except imaging.ImageRejected as rejected:
        errors[item.key("file")] = f"{name} {rejected}"
        return None


def _new_name() -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}.jpg"


def upload_photos(visit: Visit, photos: Sequence[PhotoInput], *, uploaded_by) -> list[Photo]:
    """Clean and store the photographs of one visit, all or none."""
    problem = consent_error(visit.patient)
    if problem:
        raise ValidationError({"consent": problem})
    if not photos:
        raise ValidationError({"photos": "Choose at least one photograph to upload."})
    max_files = settings.CLE_PHOTO_LIMITS["max_files"]
    if len(photos) > max_files:
        raise ValidationError({"photos": f"Upload at most {max_files} photographs at a time."})
    errors: dict[str, str] = {}
    ready = []
    for item in photos:
        areas = _check_areas(item, errors)
        if len(item.caption) > CAPTION_MAX:
            errors[item.key("caption")] = f"Keep the caption under {CAPTION_MAX} characters."
        cleaned = _cleaned(item, errors, settings.CLE_PHOTO_LIMITS["max_bytes"])
        ready.append((item, areas, cleaned))
    if errors:
        raise ValidationError(errors)
    return _store(visit, ready, uploaded_by)


def _store(visit: Visit, ready, uploaded_by) -> list[Photo]:
    storage = photo_storage()
    written: list[str] = []
    try:
        with transaction.atomic():
            # The visit row locked: a concurrent delete of the visit waits, or we see it gone.
            if not Visit.objects.select_for_update().filter(pk=visit.pk).exists():
                raise ValidationError({"visit": "This visit was deleted meanwhile; nothing was saved."})
            created = []
            for item, areas, cleaned in ready:
                names = {}
                for version in ("full", "screen", "thumb"):
                    data = getattr(cleaned, version).data
                    names[version] = storage.save(_new_name(), ContentFile(data))
                    written.append(names[version])
                created.append(Photo.objects.create(
                    visit=visit, areas=areas, caption=item.caption.strip(),
                    source_format=cleaned.source_format,
                    width=cleaned.full.width, height=cleaned.full.height,
                    full_name=names["full"], screen_name=names["screen"], thumb_name=names["thumb"],
                    full_bytes=len(cleaned.full.data), screen_bytes=len(cleaned.screen.data),
                    thumb_bytes=len(cleaned.thumb.data), sha256=cleaned.sha256,
                    uploaded_by=uploaded_by,
                ))
            return created
    except BaseException:
        _remove_files(written)
        raise


# -- removal -------------------------------------------------------------------


def _remove_files(names: Iterable[str]) -> None:
    storage = photo_storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError:  # reported later by `manage.py photo_orphans`
            log.warning("Could not delete photograph file %s", name)


def _remove_on_commit(names: list[str]) -> None:
    if names:
        transaction.on_commit(lambda: _remove_files(names))


def _names(photos) -> list[str]:
    return [name for row in photos.values_list("full_name", "screen_name", "thumb_name")
            for name in row]


@transaction.atomic
def delete_photo(photo: Photo) -> None:
    names = list(photo.file_names())
    photo.delete()
    _remove_on_commit(names)


def discard_visit_files(visit: Visit) -> None:
    """Called by patients.services.delete_visit inside its transaction: the rows
    go with the visit (cascade); the files once the delete has committed."""
    _remove_on_commit(_names(Photo.objects.filter(visit=visit)))


def discard_patient_files(patient: Patient) -> None:
    """For the patient's erasure (same contract as discard_visit_files)."""
    _remove_on_commit(_names(Photo.objects.filter(visit__patient=patient)))


@transaction.atomic
def update_photo(photo: Photo, *, areas: Sequence[str], caption: str) -> Photo:
    errors: dict[str, str] = {}
    item = PhotoInput("photo", None, areas, caption)
    checked = _check_areas(item, errors)
    if len(caption) > CAPTION_MAX:
        errors["caption"] = f"Keep the caption under {CAPTION_MAX} characters."
    if errors:
        raise ValidationError({k.removeprefix("photo-"): v for k, v in errors.items()})
    photo.areas, photo.caption = checked, caption.strip()
    photo.save(update_fields=["areas", "caption"])
    return photo
