"""Every URL of the app against three users: clinic A's clinician, clinic A's
viewer, clinic B's clinician, plus an anonymous visitor.

The URL list is walked from the URLconf, so a new page is covered the moment
it is routed; a URL parameter this file does not know fails the test, so
whoever adds one must say which record it names.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from patients.models import AdverseEvent, LabResult, Patient, Visit
from patients.services import (
    AdverseEventInput,
    LabInput,
    add_dose_step,
    add_interruption,
    record_visit,
    withdraw,
)

# Routes outside the clinical record: Django's own and the login flow, and
# /healthz, the one deliberate exception to sign-in: the container's and the
# load balancer's probe, which answers only whether the database is reachable
# (tests/ops/test_healthz.py).
SKIP_PREFIXES = ("admin:", "login", "logout", "password_", "password_reset", "healthz",
                 "two_factor")


def _routes(resolver=None, prefix: str = "", namespace: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _routes(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", list(entry.pattern.converters)


def app_routes():
    seen = set()
    for name, params in _routes():
        if name.startswith(SKIP_PREFIXES) or name in seen:
            continue
        seen.add(name)
        yield name, params


@pytest.fixture
def record_a(clinician_a, patient_a, course_a):
    """One of every clinical record in clinic A."""
    step = add_dose_step(course_a, date=dt.date(2025, 2, 3), mg=Decimal("10"), every_days=1)
    visit = record_visit(
        patient_a,
        date=dt.date(2025, 2, 3),
        clinician=clinician_a,
        labs=[LabInput(test="c3", value=Decimal("0.8"), unit="g/L")],
        adverse_events=[AdverseEventInput(term="Insomnia", grade=1)],
    )
    hold = add_interruption(course_a, start=dt.date(2025, 2, 10), end=dt.date(2025, 2, 17),
                            reason="neutropenia")
    withdraw(course_a, end=dt.date(2025, 3, 3), stop_reason="remission")
    from scoring.models import FlagAcknowledgement

    ack = FlagAcknowledgement.objects.create(
        patient=patient_a, flag_key="x", kind="relapse_after_complete_response",
        visit=visit, note="seen", acknowledged_by=clinician_a,
    )
    from jobs.models import Job, JobState

    job = Job.objects.create(
        clinic=patient_a.clinic, created_by=clinician_a, state=JobState.FAILED, error_message="x"
    )
    from photos.services import record_consent
    from tests.photos.conftest import stored_photo

    record_consent(patient_a, level="record", given_on=dt.date(2025, 1, 6), recorded_by=clinician_a)
    photo = stored_photo(visit, clinician_a)
    return {
        "photo_id": photo.pk,
        "job_id": job.pk,
        "clinic_id": patient_a.clinic_id,
        "patient_id": patient_a.pk,
        "visit_id": visit.pk,
        "course_id": course_a.pk,
        "step_id": step.pk,
        "dose_step_id": step.pk,
        "lab_id": LabResult.objects.get(visit=visit).pk,
        "event_id": AdverseEvent.objects.get(visit=visit).pk,
        "adverse_event_id": AdverseEvent.objects.get(visit=visit).pk,
        "acknowledgement_id": ack.pk,
        "ack_id": ack.pk,
        "interruption_id": hold.pk,
    }


def _url(name: str, params: list[str], ids: dict) -> str:
    unknown = [p for p in params if p not in ids]
    assert not unknown, f"{name}: tests/clinic/test_access.py does not know the parameter {unknown}"
    return reverse(name, kwargs={p: ids[p] for p in params})


def test_the_walk_finds_the_record_pages():
    names = {name for name, _ in app_routes()}
    assert {"patients:list", "patients:detail", "patients:edit", "patients:create"} <= names


@pytest.mark.django_db
def test_anonymous_is_sent_to_login_from_every_page(client, record_a):
    for name, params in app_routes():
        url = _url(name, params, record_a)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302, (name, method, response.status_code)
            assert response["Location"].startswith(reverse("login")), (name, method)


@pytest.mark.django_db
def test_other_clinic_gets_404_on_every_url_naming_clinic_a_records(outsider_client, record_a):
    checked = 0
    for name, params in app_routes():
        if not params:
            continue
        url = _url(name, params, record_a)
        for method in ("get", "post"):
            response = getattr(outsider_client, method)(url)
            # 405 (read-only page) answers the same for any id, so it reveals nothing either.
            allowed = (404,) if method == "get" else (404, 405)
            assert response.status_code in allowed, (name, method, response.status_code)
        checked += 1
    assert checked >= 3


@pytest.mark.django_db
def test_other_clinic_lists_show_nothing_of_clinic_a(outsider_client, record_a):
    response = outsider_client.get(reverse("patients:list"))
    assert response.status_code == 200
    assert b"SYN-001" not in response.content


@pytest.mark.django_db
def test_viewer_cannot_write_anywhere(viewer_client, record_a):
    before = (Patient.objects.count(), Visit.objects.count(), LabResult.objects.count())
    for name, params in app_routes():
        url = _url(name, params, record_a)
        response = viewer_client.post(url, {"code": "HACK", "note": "x", "date": "2025-01-01"})
        assert response.status_code in (403, 405), (name, response.status_code)
    assert (Patient.objects.count(), Visit.objects.count(), LabResult.objects.count()) == before
    assert Patient.objects.get(pk=record_a["patient_id"]).code == "SYN-001"


@pytest.mark.django_db
def test_viewer_reads_the_patient_page_without_write_controls(viewer_client, record_a):
    url = reverse("patients:detail", args=[record_a["patient_id"]])
    response = viewer_client.get(url)
    assert response.status_code == 200
    assert reverse("patients:edit", args=[record_a["patient_id"]]).encode() not in response.content
    assert viewer_client.get(reverse("patients:edit", args=[record_a["patient_id"]])).status_code == 403


@pytest.mark.django_db
def test_clinician_reads_and_edits_own_clinic(client_a, record_a):
    pid = record_a["patient_id"]
    assert client_a.get(reverse("patients:detail", args=[pid])).status_code == 200
    response = client_a.post(
        reverse("patients:edit", args=[pid]),
        {"code": "SYN-001", "name": "Renamed", "sex": "F", "note": "", "version": "1"},
    )
    assert response.status_code == 302
    assert Patient.objects.get(pk=pid).name == "Renamed"


@pytest.mark.django_db
def test_a_non_uuid_id_is_not_routed(client_a, record_a):
    assert client_a.get("/patients/1/").status_code == 404


@pytest.mark.django_db
def test_access_helper_answers_404_and_403(rf, viewer_a, clinician_b, record_a):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from clinic.access import get_for_user

    pid = record_a["patient_id"]
    assert get_for_user(viewer_a, Patient, pid).pk == pid
    with pytest.raises(PermissionDenied):
        get_for_user(viewer_a, Patient, pid, write=True)
    with pytest.raises(Http404):
        get_for_user(clinician_b, Patient, pid)
    with pytest.raises(Http404):
        get_for_user(viewer_a, Patient, "not-a-uuid")
    # The role is that of the record's own clinic, even for a user of two clinics.
    from clinic.models import Membership

    Membership.objects.create(user=clinician_b, clinic_id=record_a["clinic_id"], role="viewer")
    with pytest.raises(PermissionDenied):
        get_for_user(clinician_b, Visit, record_a["visit_id"], write=True)
