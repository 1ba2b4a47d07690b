"""The rules a constraint cannot say, refused by the services with a message
naming the field, and nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patients import services
from patients.models import Course, DoseStep, LabResult, Visit

D = dt.date


def field_error(exc: pytest.ExceptionInfo, field: str) -> str:
    return " ".join(exc.value.message_dict[field])


@pytest.mark.django_db
def test_courses_never_overlap(patient_a, course_a):
    # course_a runs from 2025-01-06, still ongoing.
    with pytest.raises(ValidationError) as exc:
        services.start_course(patient_a, start=D(2025, 6, 1), mg=Decimal("5"))
    assert "overlaps the lenalidomide course from 2025-01-06" in field_error(exc, "start")
    assert Course.objects.count() == 1
    services.withdraw(course_a, end=D(2025, 5, 31), stop_reason="remission")
    with pytest.raises(ValidationError):
        services.start_course(patient_a, start=D(2025, 5, 31), mg=Decimal("5"))
    services.start_course(patient_a, start=D(2025, 6, 1), mg=Decimal("5"))
    with pytest.raises(ValidationError) as exc:
        services.start_course(patient_a, start=D(2024, 12, 1), mg=Decimal("5"), end=D(2025, 1, 6), stop_reason="other")
    assert Course.objects.count() == 2


@pytest.mark.django_db
def test_a_course_edited_into_another_is_refused(patient_a, course_a):
    services.withdraw(course_a, end=D(2025, 3, 1), stop_reason="remission")
    later = services.start_course(patient_a, start=D(2025, 6, 1), mg=Decimal("5"))
    with pytest.raises(ValidationError) as exc:
        services.update_course(later, start=D(2025, 2, 1), end=None, stop_reason="")
    assert "overlaps" in field_error(exc, "start")
    later.refresh_from_db()
    assert later.start == D(2025, 6, 1)


@pytest.mark.django_db
def test_start_course_creates_the_starting_dose(course_a):
    step = DoseStep.objects.get(course=course_a)
    assert (step.date, step.mg, step.every_days) == (course_a.start, Decimal("5"), 1)


@pytest.mark.django_db
def test_dose_steps_lie_within_their_course(course_a):
    with pytest.raises(ValidationError) as exc:
        services.add_dose_step(course_a, date=D(2025, 1, 5), mg=Decimal("10"))
    assert "before the course start" in field_error(exc, "date")
    services.withdraw(course_a, end=D(2025, 4, 1), stop_reason="remission")
    with pytest.raises(ValidationError) as exc:
        services.add_dose_step(course_a, date=D(2025, 4, 2), mg=Decimal("10"))
    assert "after the withdrawal" in field_error(exc, "date")
    assert DoseStep.objects.filter(course=course_a).count() == 1


@pytest.mark.django_db
def test_withdrawal_before_a_dose_step_is_refused(course_a):
    services.add_dose_step(course_a, date=D(2025, 3, 1), mg=Decimal("10"))
    with pytest.raises(ValidationError) as exc:
        services.withdraw(course_a, end=D(2025, 2, 1), stop_reason="remission")
    assert "2025-03-01" in field_error(exc, "end")
    course_a.refresh_from_db()
    assert course_a.end is None


@pytest.mark.django_db
def test_withdrawal_needs_a_reason_and_happens_once(course_a):
    with pytest.raises(ValidationError) as exc:
        services.withdraw(course_a, end=D(2025, 2, 1), stop_reason="")
    assert field_error(exc, "stop_reason")
    services.withdraw(course_a, end=D(2025, 2, 1), stop_reason="adverse_event")
    with pytest.raises(ValidationError):
        services.withdraw(course_a, end=D(2025, 3, 1), stop_reason="remission")


@pytest.mark.django_db
def test_update_course_moves_the_starting_dose(course_a):
    services.update_course(course_a, start=D(2025, 1, 10), end=None, stop_reason="")
    assert list(course_a.dose_steps.values_list("date", flat=True)) == [D(2025, 1, 10)]


@pytest.mark.django_db
def test_record_visit_is_all_or_nothing(patient_a):
    with pytest.raises(ValidationError) as exc:
        services.record_visit(
            patient_a,
            date=D(2025, 1, 10),
            labs=[
                services.LabInput(test="c3", value=Decimal("0.9"), unit="g/L"),
                services.LabInput(test="pregnancy", result="maybe"),
            ],
        )
    assert "labs[1].result" in exc.value.message_dict
    assert Visit.objects.count() == 0 and LabResult.objects.count() == 0


@pytest.mark.django_db
def test_visit_date_unique_and_not_in_future(patient_a):
    services.record_visit(patient_a, date=D(2025, 1, 10))
    with pytest.raises(ValidationError) as exc:
        services.record_visit(patient_a, date=D(2025, 1, 10))
    assert "already has a visit on 2025-01-10" in field_error(exc, "date")
    with pytest.raises(ValidationError) as exc:
        services.record_visit(patient_a, date=dt.date.today() + dt.timedelta(days=2))
    assert "future" in field_error(exc, "date")
    assert Visit.objects.count() == 1


@pytest.mark.django_db
def test_adverse_event_grade_checked_before_writing(patient_a):
    with pytest.raises(ValidationError) as exc:
        services.record_visit(
            patient_a, date=D(2025, 1, 10),
            adverse_events=[services.AdverseEventInput(term="Rash", grade=7)],
        )
    assert "adverse_events[0].grade" in exc.value.message_dict
    assert Visit.objects.count() == 0


@pytest.mark.django_db
def test_patient_code_unique_message(clinic_a, patient_a):
    with pytest.raises(ValidationError) as exc:
        services.create_patient(clinic_a, code="SYN-001", sex="F")
    assert "already has the code SYN-001" in field_error(exc, "code")


@pytest.mark.django_db
def test_unknown_subtype_refused(clinic_a):
    with pytest.raises(ValidationError) as exc:
        services.create_patient(clinic_a, code="P9", sex="F", cle_subtypes=["DLE", "lichen"])
    assert "lichen" in field_error(exc, "cle_subtypes")


@pytest.mark.django_db
def test_course_writes_check_the_course_as_it_is_now_not_a_stale_copy(course_a):
    # Found in review: two requests holding copies loaded before either write.
    from patients.models import Course as CourseRow

    tab_one, tab_two = CourseRow.objects.get(pk=course_a.pk), CourseRow.objects.get(pk=course_a.pk)
    services.withdraw(tab_one, end=D(2025, 3, 1), stop_reason="remission")
    with pytest.raises(ValidationError) as exc:
        services.add_dose_step(tab_two, date=D(2025, 4, 1), mg=Decimal("10"))
    assert "after the withdrawal" in field_error(exc, "date")
    with pytest.raises(ValidationError) as exc:
        services.withdraw(tab_two, end=D(2025, 5, 1), stop_reason="adverse_event")
    assert "already withdrawn on 2025-03-01" in field_error(exc, "end")
    course_a.refresh_from_db()
    assert (course_a.end, course_a.stop_reason) == (D(2025, 3, 1), "remission")
    assert list(course_a.dose_steps.values_list("date", flat=True)) == [D(2025, 1, 6)]
