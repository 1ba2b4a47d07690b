"""Photographic consent: recorded by clinicians, dated, shown with the photographs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from photos.models import PhotoConsent

pytestmark = pytest.mark.django_db


def test_a_clinician_records_consent(client_a, patient_a):
    url = reverse("photos:consent", args=[patient_a.pk])
    response = client_a.post(url, {"level": "publication", "given_on": "2025-02-01", "note": "",
                                   "next": f"/photos/patients/{patient_a.pk}/"})
    assert response.status_code == 302
    consent = PhotoConsent.objects.get(patient=patient_a)
    assert (consent.level, consent.given_on, consent.recorded_by.username) == (
        "publication", dt.date(2025, 2, 1), "ana.clinician")
    page = client_a.get(reverse("photos:patient", args=[patient_a.pk])).content.decode()
    assert "Consent: For the record, teaching and publication (2025-02-01)" in page


def test_a_first_consent_offers_today_as_its_date(client_a, patient_a):
    # Usually recorded on the day it is given: the form says so instead of an empty,
    # required date (the new instance's None hid the default).
    page = client_a.get(reverse("photos:consent", args=[patient_a.pk])).content.decode()
    today = timezone.localdate().isoformat()
    assert f'name="given_on" value="{today}"' in page


def test_consent_changes_stay_in_the_history(client_a, patient_a):
    url = reverse("photos:consent", args=[patient_a.pk])
    client_a.post(url, {"level": "teaching", "given_on": "2025-02-01"})
    client_a.post(url, {"level": "none", "given_on": "2025-03-01"})
    history = client_a.get(reverse("patients:history", args=[patient_a.pk])).content.decode()
    assert "teaching" in history and "none" in history


def test_bad_consent_input_names_the_field_and_writes_nothing(client_a, patient_a):
    url = reverse("photos:consent", args=[patient_a.pk])
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = client_a.post(url, {"level": "teaching", "given_on": future})
    assert response.status_code == 400
    assert "Date of consent: The date of consent cannot be in the future." in response.content.decode()
    response = client_a.post(url, {"level": "everything", "given_on": "2025-01-01"})
    assert response.status_code == 400
    assert "Photographic consent: Select a valid choice." in response.content.decode()
    assert not PhotoConsent.objects.exists()


def test_an_outside_next_is_not_followed(client_a, patient_a):
    url = reverse("photos:consent", args=[patient_a.pk])
    response = client_a.post(url, {"level": "record", "given_on": "2025-01-01",
                                   "next": "//evil.example/"})
    assert response["Location"] == reverse("photos:patient", args=[patient_a.pk])


def test_a_viewer_cannot_record_consent(viewer_client, patient_a):
    url = reverse("photos:consent", args=[patient_a.pk])
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url, {"level": "record", "given_on": "2025-01-01"}).status_code == 403
    assert not PhotoConsent.objects.exists()


def test_the_upload_page_asks_for_consent_first(client_a, patient_a):
    from patients.services import record_visit

    visit = record_visit(patient_a, date=dt.date(2025, 2, 3))
    page = client_a.get(reverse("photos:visit", args=[visit.pk])).content.decode()
    assert "has no photographic consent on record" in page
    assert 'type="file"' not in page
