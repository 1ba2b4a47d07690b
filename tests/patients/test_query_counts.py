"""The patient list and the patient page run a fixed number of SQL queries:
10 or 1,000 patients, 5 or 100 visits, the count is the same."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import Course, DoseStep, Interruption, LabResult, Patient, Visit
from clinical.instruments.exam import parse_exam
from scoring.models import Assessment
from scoring.services import assessment_values
from scoring.state import refresh_states
from tests.audit_queries import audit_entry_queries

# session + user, the user's clinics, the stored state's clinic probe (is any row of
# these clinics stale: none here; scoring.state.probe_clinics), the paginator's
# count, the page's patients, the page's state rows (open items and today's
# treatments); plus the audit entry naming the patients shown (audit_entry_queries).
# No record is read: the list takes today's treatments from the state.
PATIENT_LIST_QUERIES = 7


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
    _treatments(patients)
    # Rows written around the services: their derived state is built as the importer does.
    refresh_states(p.pk for p in patients)


def _treatments(patients, per_patient: int = 1) -> None:
    """Per patient: `per_patient` lenalidomide courses (each with two dose steps and
    an interruption), then hydroxychloroquine throughout and a prednisone burst."""
    rows = []
    for p in patients:
        for k in range(per_patient):
            start = dt.date(2020, 1, 6) + dt.timedelta(days=60 * k)
            last = k == per_patient - 1
            rows.append(Course(patient=p, drug="lenalidomide", start=start,
                               end=None if last else start + dt.timedelta(days=50),
                               stop_reason="" if last else "remission"))
        rows.append(Course(patient=p, drug="hydroxychloroquine", start=dt.date(2019, 6, 3)))
        rows.append(Course(patient=p, drug="prednisone", start=dt.date(2019, 7, 1),
                           end=dt.date(2019, 7, 29), stop_reason="other"))
    courses = Course.objects.bulk_create(rows)
    DoseStep.objects.bulk_create(
        DoseStep(course=c, date=c.start, mg=Decimal("200" if c.drug == "hydroxychloroquine" else "5"))
        for c in courses
    )
    lenalidomide = [c for c in courses if c.drug == "lenalidomide"]
    DoseStep.objects.bulk_create(
        DoseStep(course=c, date=c.start + dt.timedelta(days=28), mg=Decimal("10")) for c in lenalidomide
    )
    Interruption.objects.bulk_create(
        Interruption(course=c, start=c.start + dt.timedelta(days=35),
                     end=c.start + dt.timedelta(days=42), reason="neutropenia")
        for c in lenalidomide
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
    # The page's own reads are six (patients.snapshot.record_for) on top
    # of session, user, the patient and the audit write; the trend chart and
    # flags (scoring.selectors.patient_analysis) add a fixed handful.
    assert large <= 20


@pytest.mark.django_db
def test_patient_page_queries_do_not_grow_with_courses_of_several_drugs(client_a, patient_a):
    # 1 then 12 lenalidomide courses (dose steps, interruptions) beside
    # hydroxychloroquine and prednisone courses: the same count as without any.
    url = reverse("patients:detail", args=[patient_a.pk])
    _visits(patient_a, 5)
    bare = _count(client_a, url)
    _treatments([patient_a], per_patient=1)
    few = _count(client_a, url)
    Course.objects.all().delete()
    _treatments([patient_a], per_patient=12)
    many = _count(client_a, url)
    assert bare == few == many
    from tests.scoring.test_patient_analysis_page import PATIENT_PAGE_QUERIES_EXACT

    assert many == PATIENT_PAGE_QUERIES_EXACT + audit_entry_queries()


# session + user; the visit with its patient, clinic, assessment and clinician, its
# labs, its adverse events (patients.selectors.visit_for_page); the patient's timeline
# read ONCE for both the visit's flags and the change from baseline (dose steps,
# interruptions, courses, visits, assessments: patients.snapshot); the visit's
# photographs; plus the audit entry of the opening (audit_entry_queries).
VISIT_PAGE_QUERIES = 11


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
    assert _count(client_a, url) == small == VISIT_PAGE_QUERIES + audit_entry_queries()


@pytest.mark.django_db
def test_the_list_shows_the_dose_in_force_today_not_a_planned_one(client_a, patient_a):
    import datetime as dt
    from decimal import Decimal

    from django.urls import reverse

    from patients import services

    today = dt.date.today()
    course = services.start_course(patient_a, start=today - dt.timedelta(days=30), mg=Decimal("5"))
    # The services refuse a future date now (issue 14); older records may hold one.
    course.dose_steps.create(date=today + dt.timedelta(days=7), mg=Decimal("10"), every_days=1)
    row = client_a.get(reverse("patients:list")).content.decode().split("SYN-001", 1)[1]
    assert "5 mg daily" in row.split("</tr>")[0]


def _photos(visits, per_visit: int) -> None:
    """Photograph rows (no files: the patient page reads rows only, never a file)."""
    from photos.models import Photo

    Photo.objects.bulk_create(
        Photo(visit=v, areas=["nose_malar"], source_format="JPEG", width=64, height=48,
              full_name=f"f-{v.pk}-{k}", screen_name=f"s-{v.pk}-{k}", thumb_name=f"t-{v.pk}-{k}",
              full_bytes=1, screen_bytes=1, thumb_bytes=1, sha256="0" * 64)
        for v in visits for k in range(per_visit)
    )


@pytest.mark.django_db
def test_patient_page_queries_do_not_grow_with_photographs(client_a, patient_a):
    # None, then 1 photograph on 2 visits, then 6 on each of 40 visits: the trend's
    # markers and the table's links cost the same one grouped query (issue 15); the
    # latest thumbnails one more, read only once the record's stamp counts a photograph.
    from photos.models import Photo
    from tests.scoring.test_patient_analysis_page import PATIENT_PAGE_QUERIES_EXACT, RECENT_PHOTOS_QUERIES

    url = reverse("patients:detail", args=[patient_a.pk])
    _visits(patient_a, 40)
    visits = list(Visit.objects.filter(patient=patient_a).order_by("date"))
    none = _count(client_a, url)
    _photos(visits[:2], 1)
    few = _count(client_a, url)
    page = client_a.get(url).content.decode()
    assert page.count(">1 photograph</a>") == 2  # the chart table's links
    Photo.objects.all().delete()
    _photos(visits, 6)
    many = _count(client_a, url)
    assert none == PATIENT_PAGE_QUERIES_EXACT + audit_entry_queries()
    assert few == many == none + RECENT_PHOTOS_QUERIES
    assert client_a.get(url).content.decode().count(">6 photographs</a>") == 40


# Saving a visit (issue 13), on top of the batch of audit entries (audit_entry_queries):
# the patient's lock, the one-visit-a-day check, the visit (in a savepoint: 3),
# django-auditlog's look at the new visit's assessment, the assessment (in
# save_assessment's savepoint), ONE insert for the labs and one for the adverse
# events, and the outer savepoint the test's transaction puts around the service.
# Every write then recomputes the patient's stored state in its transaction
# (scoring.state, issue 13): the lean record, the acknowledgements, the row.
STATE_REFRESH_QUERIES = 8
RECORD_VISIT_QUERIES = 13 + STATE_REFRESH_QUERIES
# Replacing one: the visit through its patient, the patient's and the visit's
# locks, the date check, django-auditlog's reads of the visit as it was and of its
# patient, the update; the assessment (update_or_create in savepoints: its row,
# django-auditlog's read of it and of its visit, the update); the old labs and
# adverse events read and deleted (each deletion audited); then the two inserts;
# savepoints: two around the assessment, the outer one (each opened and released).
UPDATE_VISIT_QUERIES = 23 + STATE_REFRESH_QUERIES


def _save_count(save) -> int:
    with CaptureQueriesContext(connection) as ctx:
        save()
    return len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("n_labs", [1, 6])
def test_a_visit_save_costs_the_same_queries_whatever_it_records(patient_a, n_labs):
    """Labs and adverse events in one INSERT each, every row's audit entry in one
    batch: 1 or 6 labs, the same count; and every written row still has its entry."""
    from audit.models import AuditEntry
    from patients.models import AdverseEvent
    from patients.services import AdverseEventInput, LabInput, record_visit, update_visit

    tests = ["c3", "c4", "anc", "wbc", "platelets", "anti_dsdna"][:n_labs]
    units = {"c3": "g/L", "c4": "g/L", "anc": "10^9/L", "wbc": "10^9/L", "platelets": "10^9/L",
             "anti_dsdna": "IU/mL"}
    labs = [LabInput(test=t, value=Decimal("1.5"), unit=units[t]) for t in tests]
    events = [AdverseEventInput(term="Rash acneiform", grade=1)]
    exam = parse_exam({"areas": {"ears": {"erythema": 1}}})
    # Warm the process' content-type cache, as any running server has it.
    warm = record_visit(patient_a, date=dt.date(2025, 6, 2), exam=exam, labs=labs, adverse_events=events)
    entries = AuditEntry.objects.count()
    visit = None

    def record():
        nonlocal visit
        visit = record_visit(patient_a, date=dt.date(2025, 6, 4), exam=exam, labs=labs,
                             adverse_events=events)

    assert _save_count(record) == RECORD_VISIT_QUERIES + audit_entry_queries()
    # The visit, its assessment, each lab and the event: one entry each.
    assert AuditEntry.objects.count() == entries + 1 + 1 + n_labs + 1
    visit.refresh_from_db()
    entries = AuditEntry.objects.count()
    again = parse_exam({"areas": {"ears": {"erythema": 2}}})
    assert _save_count(lambda: update_visit(visit, date=visit.date, exam=again, labs=labs,
                                            adverse_events=events, version=visit.version)) == (
        UPDATE_VISIT_QUERIES + audit_entry_queries()
    )
    # Visit and assessment updated; old labs and event deleted, new ones created.
    assert AuditEntry.objects.count() == entries + 2 + 2 * (n_labs + 1)
    assert LabResult.objects.filter(visit=visit).count() == n_labs
    assert AdverseEvent.objects.filter(visit=visit).count() == 1
    assert warm.pk != visit.pk
