"""Fixtures of the photograph tests: a visit with consent, and upload helpers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.photos import images


@pytest.fixture(autouse=True)
def empty_photo_storage():
    """InMemoryStorage lives as long as the process: start each test empty."""
    storage = storages["photos"]
    from photos.management.commands.photo_orphans import stored_names

    for name in stored_names(storage):
        storage.delete(name)
    yield storage


@pytest.fixture
def consent_a(patient_a, clinician_a):
    from photos.services import record_consent

    return record_consent(patient_a, level="record", given_on=dt.date(2025, 1, 6),
                          recorded_by=clinician_a)


@pytest.fixture
def visit_a(patient_a):
    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    return record_visit(patient_a, date=dt.date(2025, 2, 3), exam=parse_exam(
        {"areas": {"nose_malar": {"erythema": 2, "scale": 1}}}))


def upload(name: str, data: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_photo(visit, user, *, areas=("nose_malar",), data: bytes | None = None, caption=""):
    from photos.services import PhotoInput, upload_photos

    return upload_photos(visit, [PhotoInput("photo-0", upload("p.jpg", data or images.jpeg()),
                                            list(areas), caption)], uploaded_by=user)[0]
