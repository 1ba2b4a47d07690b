"""The patient list and the patient page run a fixed number of SQL queries:
10 or 1,000 patients, 5 or 100 visits, the count is the same."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import Course, DoseStep, LabResult, Patient, Visit
from scoring.clasi import parse_exam
from scoring.models import Assessment
from scoring.services import assessment_values
from tests.audit_queries import audit_entry_queries

# session + user, the paginator's count, the page's patients, the user's clinics,
# and the open flags of the page's patients (timelines_for: 4, acknowledgements: 1),
# and the audit entry naming the patients shown.
PATIENT_LIST_QUERIES = 10


def _patients(clinic, n: int) -> None:
    """n patients, each with an assessed visit and a running course: every
    annotation of the list has something to find."""
    patients = Patient.objects.bulk_create(
        Patient(clinic=clinic, code=f"Q{i:04d}", name=f"Synthetic {i}", sex="F",
                cle_subtypes=["DLE"] if i % 2 else ["SCLE"])
        for i in range(n)
    )
    visits = Visit.objects.bulk_create(Visit(patient=p, date=dt.date(2025, 1, 6)) for p in patients)
    exam = parse_exam({"areas": {"chest": {"erythema": 2}}})
    Assessment.objects.bulk_create(Assessment(visit=v, **assessment_values(exam)) for v in visits)
    courses = Course.objects.bulk_create(Course(patient=p, start=dt.date(2025, 1, 6)) for p in patients)
    DoseStep.objects.bulk_create(
        DoseStep(course=c, date=c.start, mg=Decimal("5"), every_days=1) for c in courses
    )


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{}, {"q": "Q0", "on_lenalidomide": "on", "subtype": "DLE"}])
def test_patient_list_queries_do_not_grow_from_10_to_1000_patients(client_a, clinic_a, params):
    url = reverse("patients:list")
    _patients(clinic_a, 10)
    client_a.get(url)  # warms the process' content-type cache the audit entry uses
    small = _count(client_a, url, params)
    Patient.objects.all().delete()
    _patients(clinic_a, 1000)
    large = _count(client_a, url, params)
    assert small == large == PATIENT_LIST_QUERIES + audit_entry_queries()


def _visits(patient, n: int) -> None:
    start = dt.date(2024, 1, 1)
    visits = Visit.objects.bulk_create(
        Visit(patient=patient, date=start + dt.timedelta(days=7 * i)) for i in range(n)
    )
    exam = parse_exam({"areas": {"chest": {"erythema": 2}, "arms": {"scale": 1}}})
    Assessment.objects.bulk_create(Assessment(visit=v, **assessment_values(exam)) for v in visits)
    LabResult.objects.bulk_create(
        LabResult(visit=v, test="c3", value=Decimal("0.9"), unit="g/L") for v in visits
    )


@pytest.mark.django_db
def test_patient_page_queries_do_not_grow_from_5_to_100_visits(client_a, patient_a):
    from patients.services import add_dose_step, start_course

    course = start_course(patient_a, start=dt.date(2024, 1, 1), mg=Decimal("5"))
    add_dose_step(course, date=dt.date(2024, 2, 1), mg=Decimal("10"))
    url = reverse("patients:detail", args=[patient_a.pk])
    _visits(patient_a, 5)
    small = _count(client_a, url)
    Visit.objects.all().delete()
    _visits(patient_a, 100)
    large = _count(client_a, url)
    assert small == large
    # The page's own reads are four (patients.selectors.patient_record) on top
    # of session, user, the patient and the audit write; the trend chart and
    # flags (scoring.selectors.patient_analysis) add a fixed handful.
    assert large <= 20


@pytest.mark.django_db
def test_visit_page_queries_do_not_grow_with_the_record(client_a, patient_a):
    from patients.services import record_visit

    # A Wednesday: the bulk visits fall on Mondays, one a day at most.
    visit = record_visit(patient_a, date=dt.date(2025, 6, 4),
                         exam=parse_exam({"areas": {"ears": {"erythema": 1}}}))
    url = reverse("patients:visit", args=[visit.pk])
    _visits(patient_a, 5)
    small = _count(client_a, url)
    Visit.objects.exclude(pk=visit.pk).delete()
    _visits(patient_a, 100)
    assert _count(client_a, url) == small


@pytest.mark.django_db
def test_the_list_shows_the_dose_in_force_today_not_a_planned_one(client_a, patient_a):
    import datetime as dt
    from decimal import Decimal

    from django.urls import reverse

    from patients import services

    today = dt.date.today()
    course = services.start_course(patient_a, start=today - dt.timedelta(days=30), mg=Decimal("5"))
    services.add_dose_step(course, date=today + dt.timedelta(days=7), mg=Decimal("10"))
    row = client_a.get(reverse("patients:list")).content.decode().split("SYN-001", 1)[1]
    assert "5 mg daily" in row.split("</tr>")[0]
