"""Every write and each opening of a patient's record leaves an audit entry with the user."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEntry as LogEntry


def entries_for(patient, action=None):
    qs = LogEntry.objects.filter(additional_data__patient=str(patient.pk))
    return qs if action is None else qs.filter(action=action)


@pytest.mark.django_db
def test_opening_a_patient_is_logged_as_access_with_the_user(client_a, clinician_a, patient_a):
    before = entries_for(patient_a, LogEntry.Action.ACCESS).count()
    client_a.get(reverse("patients:detail", args=[patient_a.pk]))
    accesses = entries_for(patient_a, LogEntry.Action.ACCESS)
    assert accesses.count() == before + 1
    assert accesses.latest("timestamp").actor == clinician_a


@pytest.mark.django_db
def test_edit_through_the_page_is_logged_with_user_and_change(client_a, clinician_a, patient_a):
    client_a.post(
        reverse("patients:edit", args=[patient_a.pk]),
        {"code": "SYN-001", "name": "New Name", "sex": "F", "note": "", "version": "1"},
    )
    update = entries_for(patient_a, LogEntry.Action.UPDATE).latest("timestamp")
    assert update.actor == clinician_a
    assert update.changes_dict["name"] == ["Synthetic Patient", "New Name"]


@pytest.mark.django_db
def test_create_update_delete_of_every_clinical_record_are_logged(patient_a, course_a, clinician_a):
    import datetime as dt
    from decimal import Decimal

    from patients import services

    step = services.add_dose_step(course_a, date=dt.date(2025, 2, 1), mg=Decimal("10"))
    visit = services.record_visit(
        patient_a, date=dt.date(2025, 2, 1), clinician=clinician_a,
        labs=[services.LabInput(test="anc", value=Decimal("1.5"), unit="10^9/L")],
        adverse_events=[services.AdverseEventInput(term="Insomnia", grade=1)],
    )
    services.withdraw(course_a, end=dt.date(2025, 3, 1), stop_reason="remission")
    services.remove_dose_step(step)
    services.delete_visit(visit)
    logged = {
        (e.content_type.model, e.action) for e in entries_for(patient_a).select_related("content_type")
    }
    A = LogEntry.Action
    for expected in [
        ("patient", A.CREATE), ("course", A.CREATE), ("course", A.UPDATE), ("dosestep", A.CREATE),
        ("dosestep", A.DELETE), ("visit", A.CREATE), ("visit", A.DELETE), ("labresult", A.CREATE),
        ("labresult", A.DELETE), ("adverseevent", A.CREATE), ("adverseevent", A.DELETE),
    ]:
        assert expected in logged, expected


@pytest.mark.django_db
def test_history_page_shows_the_entries(client_a, patient_a):
    client_a.get(reverse("patients:detail", args=[patient_a.pk]))
    response = client_a.get(reverse("patients:history", args=[patient_a.pk]))
    assert response.status_code == 200
    # The opening of the patient page and of this page, folded into one line.
    assert b"Viewed 2 times by <strong>ana.clinician</strong>" in response.content


@pytest.mark.django_db
def test_opening_a_visit_page_is_logged_against_the_patient(client_a, clinician_a, patient_a):
    import datetime as dt

    from patients.services import record_visit

    visit = record_visit(patient_a, date=dt.date(2025, 2, 1))
    client_a.get(reverse("patients:visit", args=[visit.pk]))
    access = entries_for(patient_a, LogEntry.Action.ACCESS).get()
    assert (access.actor, access.content_type.model) == (clinician_a, "visit")


@pytest.mark.django_db
@pytest.mark.parametrize("route", ["exchange:export", "exchange:visits_csv"])
def test_downloading_the_clinic_is_logged_with_the_user(client_a, clinician_a, patient_a, route):
    response = client_a.get(reverse(route, args=[patient_a.clinic_id]))
    assert response.status_code == 200
    entry = LogEntry.objects.filter(action=LogEntry.Action.ACCESS, object_pk=str(patient_a.clinic_id)).get()
    assert entry.actor == clinician_a
    assert entry.additional_data["patients"] == 1


@pytest.mark.django_db
def test_history_page_shows_a_scored_visit(client_a, patient_a):
    # Found in review: the assessment's audit entry has a field named "items",
    # which the template looked up instead of dict.items(): a 500.
    import datetime as dt

    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    record_visit(patient_a, date=dt.date(2025, 2, 1), exam=parse_exam({"areas": {"ears": {"erythema": 1}}}))
    response = client_a.get(reverse("patients:history", args=[patient_a.pk]))
    assert response.status_code == 200
    assert b"<strong>activity</strong>" in response.content
