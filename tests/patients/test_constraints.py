"""Each rule the database can express rejects bad data at the database itself,
bypassing forms and services (bulk writes, shell, another client)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from patients.models import AdverseEvent, Course, DoseStep, Interruption, LabResult, Patient, Visit

D = dt.date


def rejects(model, **fields) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)


@pytest.mark.django_db
def test_course_ends_on_or_after_start(patient_a):
    rejects(Course, patient=patient_a, start=D(2025, 5, 2), end=D(2025, 5, 1), stop_reason="other")
    Course.objects.create(patient=patient_a, start=D(2025, 5, 2), end=D(2025, 5, 2), stop_reason="other")


@pytest.mark.django_db
def test_running_course_has_no_stop_reason(patient_a):
    rejects(Course, patient=patient_a, start=D(2025, 5, 2), stop_reason="remission")


@pytest.mark.django_db
def test_unknown_stop_reason_and_drug(patient_a):
    rejects(Course, patient=patient_a, start=D(2025, 5, 2), end=D(2025, 6, 1), stop_reason="boredom")
    rejects(Course, patient=patient_a, start=D(2025, 5, 2), drug="cyclosporin")


@pytest.mark.django_db
def test_drug_name_only_and_always_for_other(patient_a):
    rejects(Course, patient=patient_a, start=D(2025, 5, 2), drug="other")
    rejects(Course, patient=patient_a, start=D(2025, 5, 2), drug="aspirin", drug_name="ASA")


@pytest.mark.django_db
def test_interruption_ends_on_or_after_start(course_a):
    rejects(Interruption, course=course_a, start=D(2025, 5, 2), end=D(2025, 5, 1))


@pytest.mark.django_db
def test_visit_weight_positive(patient_a):
    rejects(Visit, patient=patient_a, date=D(2025, 5, 2), weight_kg=Decimal("0"))


@pytest.mark.django_db
def test_one_dose_step_per_course_and_date(course_a):
    rejects(DoseStep, course=course_a, date=course_a.start, mg=Decimal("10"), every_days=1)


@pytest.mark.django_db
def test_mg_positive_and_every_days_at_least_one(course_a):
    rejects(DoseStep, course=course_a, date=D(2025, 2, 1), mg=Decimal("0"), every_days=1)
    rejects(DoseStep, course=course_a, date=D(2025, 2, 2), mg=Decimal("-5"), every_days=1)
    rejects(DoseStep, course=course_a, date=D(2025, 2, 3), mg=Decimal("5"), every_days=0)


@pytest.mark.django_db
@pytest.mark.parametrize("grade", [0, 6])
def test_adverse_event_grade_1_to_5(patient_a, grade):
    visit = Visit.objects.create(patient=patient_a, date=D(2025, 1, 1))
    rejects(AdverseEvent, visit=visit, term="Insomnia", grade=grade)


@pytest.mark.django_db
@pytest.mark.parametrize("grade", [1, 5])
def test_adverse_event_grade_limits_accepted(patient_a, grade):
    visit = Visit.objects.create(patient=patient_a, date=D(2025, 1, 1))
    AdverseEvent.objects.create(visit=visit, term="Insomnia", grade=grade)


@pytest.mark.django_db
def test_patient_code_unique_within_clinic_only(clinic_a, clinic_b, patient_a):
    rejects(Patient, clinic=clinic_a, code=patient_a.code, sex="F")
    Patient.objects.create(clinic=clinic_b, code=patient_a.code, sex="F")


@pytest.mark.django_db
def test_patient_sex_vocabulary_and_sle_date(clinic_a):
    rejects(Patient, clinic=clinic_a, code="P1", sex="Q")
    rejects(Patient, clinic=clinic_a, code="P2", sex="F", sle=False, sle_diagnosed=D(2020, 1, 1))


@pytest.mark.django_db
def test_one_visit_per_patient_and_day(patient_a):
    Visit.objects.create(patient=patient_a, date=D(2025, 1, 1))
    rejects(Visit, patient=patient_a, date=D(2025, 1, 1))


@pytest.mark.django_db
def test_lab_value_matches_its_test(patient_a):
    visit = Visit.objects.create(patient=patient_a, date=D(2025, 1, 1))
    rejects(LabResult, visit=visit, test="c3", value=None)
    rejects(LabResult, visit=visit, test="pregnancy", value=Decimal("1"))
    rejects(LabResult, visit=visit, test="pregnancy", result="maybe")
    rejects(LabResult, visit=visit, test="ldl", value=Decimal("1"))
    LabResult.objects.create(visit=visit, test="pregnancy", result="negative")


@pytest.mark.django_db
def test_assessment_totals_within_the_instrument(patient_a):
    from scoring.models import Assessment

    visit = Visit.objects.create(patient=patient_a, date=D(2025, 1, 1))
    base = {"visit": visit, "items": {}, "severity": "severe"}
    rejects(Assessment, activity=71, damage=0, **base)
    rejects(Assessment, activity=0, damage=57, **base)
    rejects(Assessment, activity=5, damage=0, items={}, visit=visit, severity="extreme")
    Assessment.objects.create(activity=70, damage=56, **base)
