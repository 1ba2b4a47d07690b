"""The audit log a hospital accepts: one entry per account event with actor,
time and address; an immutable actor; a chain that finds edits and deletions;
a trusted client address; erasure without clinical content."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry, Event
from tests.conftest import PASSWORD


def _one(event, **filters) -> AuditEntry:
    entries = AuditEntry.objects.filter(event=event, **filters)
    assert entries.count() == 1, (event, list(entries.values_list("event", "object_repr")))
    entry = entries.get()
    assert entry.timestamp is not None and entry.remote_addr == "10.1.2.3"
    return entry


@pytest.mark.django_db
def test_each_account_event_leaves_one_entry_with_actor_time_and_address(clinician_a, clinic_a):
    from django.contrib.auth import get_user_model

    client = Client(REMOTE_ADDR="10.1.2.3")
    client.post("/accounts/login/", {"username": "ana.clinician", "password": "nope"})
    assert _one(Event.SIGN_IN_FAILED).object_repr == "ana.clinician"
    client.post("/accounts/login/", {"username": "ana.clinician", "password": PASSWORD})
    assert _one(Event.SIGN_IN).actor_username == "ana.clinician"
    new = "another horse battery staple 43"
    client.post(reverse("password_change"),
                {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert _one(Event.PASSWORD_CHANGE).actor_username == "ana.clinician"
    client.post(reverse("logout"))
    assert _one(Event.SIGN_OUT).actor_username == "ana.clinician"

    # Membership and user changes by an administrator.
    admin = get_user_model().objects.create_superuser("root", password=PASSWORD)
    staff = Client(REMOTE_ADDR="10.1.2.3")
    staff.force_login(admin)
    membership = clinician_a.memberships.get()
    staff.post(reverse("admin:clinic_membership_change", args=[membership.pk]),
               {"user": clinician_a.pk, "clinic": clinic_a.pk, "role": "viewer"})
    entry = _one(Event.MEMBERSHIP, action=AuditEntry.Action.UPDATE)
    assert entry.actor_username == "root" and entry.changes["role"] == ["clinician", "viewer"]
    for field, value in (("is_staff", True), ("is_superuser", True), ("is_active", False)):
        before = AuditEntry.objects.filter(event=Event.USER).count()
        user = get_user_model().objects.get(pk=clinician_a.pk)
        setattr(user, field, value)
        from audit.context import request_context

        request = type("R", (), {"user": admin, "META": {"REMOTE_ADDR": "10.1.2.3"}})()
        with request_context(request):
            user.save()
        assert AuditEntry.objects.filter(event=Event.USER).count() == before + 1
        last = AuditEntry.objects.filter(event=Event.USER).latest()
        assert last.actor_username == "root" and field in last.changes


@pytest.mark.django_db
def test_renaming_or_deleting_a_user_leaves_history_unchanged(client_a, clinician_a, patient_a):
    client_a.get(reverse("patients:detail", args=[patient_a.pk]))
    before = list(AuditEntry.objects.order_by("seq").values_list("actor_id", "actor_username", "entry_hash"))
    clinician_a.username = "renamed"
    clinician_a.save()
    clinician_a.delete()
    after = list(AuditEntry.objects.order_by("seq").values_list("actor_id", "actor_username", "entry_hash"))
    assert after[: len(before)] == before
    assert any(name == "ana.clinician" for _, name, _ in before)
    call_command("verify_audit")


def _chain(client_a, patient_a) -> list[AuditEntry]:
    for _ in range(3):
        client_a.get(reverse("patients:detail", args=[patient_a.pk]))
    return list(AuditEntry.objects.order_by("seq"))


@pytest.mark.django_db
def test_verify_audit_passes_an_intact_chain(client_a, patient_a, capsys):
    entries = _chain(client_a, patient_a)
    call_command("verify_audit")
    assert f"{len(entries)} entries verified" in capsys.readouterr().out


def _bypass_the_trigger() -> None:
    """On PostgreSQL, tamper as a database superuser would: with the append-only
    trigger switched off (inside the test's transaction, rolled back after it),
    so that verify_audit is what must find the change."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events: ALTER may run
        for model in (AuditEntry, AuditEntry.patient_index.rel.related_model):
            table = model._meta.db_table
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")


@pytest.mark.django_db
def test_verify_audit_finds_an_edited_entry(client_a, patient_a):
    entries = _chain(client_a, patient_a)
    _bypass_the_trigger()
    AuditEntry.objects.filter(pk=entries[1].pk).update(actor_username="someone.else")
    with pytest.raises(CommandError, match=f"entry {entries[1].seq}: its content was changed"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_finds_a_deleted_entry(client_a, patient_a):
    entries = _chain(client_a, patient_a)
    _bypass_the_trigger()
    AuditEntryPatient = entries[1].patient_index.model
    AuditEntryPatient.objects.filter(entry=entries[1]).delete()
    AuditEntry.objects.filter(pk=entries[1].pk)._raw_delete(connection.alias)
    with pytest.raises(CommandError, match=f"entries {entries[1].seq} to {entries[1].seq} are missing"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_verify_audit_finds_a_redaction_without_an_erasure(client_a, patient_a):
    from audit.services import redact_patient

    _chain(client_a, patient_a)
    _bypass_the_trigger()
    redact_patient(patient_a.pk)  # as someone hiding what was done, without erasing
    with pytest.raises(CommandError, match="was redacted, but no erasure of its patient is logged"):
        call_command("verify_audit")


@pytest.mark.django_db
def test_the_orm_refuses_to_change_or_delete_an_entry(client_a, patient_a):
    entry = _chain(client_a, patient_a)[0]
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()


@pytest.mark.django_db(transaction=False)
def test_postgresql_refuses_update_and_delete_of_the_log(client_a, patient_a):
    if connection.vendor != "postgresql":
        pytest.skip("The append-only trigger exists on PostgreSQL only (SQLite: verify_audit finds it)")
    from django.db import DatabaseError, transaction

    _chain(client_a, patient_a)
    entry = AuditEntry.objects.filter(patient_index__isnull=False).first()  # has index rows too
    for statement in ("UPDATE audit_auditentry SET actor_username = 'x' WHERE id = %s",
                      # a "redaction" that also rewrites who did it
                      "UPDATE audit_auditentry SET changes = '{}', changes_text = '', "
                      "serialized_data = NULL, object_repr = '(erased)', redacted_at = now(), "
                      "actor_username = 'x' WHERE id = %s",
                      "DELETE FROM audit_auditentry WHERE id = %s",
                      "DELETE FROM audit_auditentrypatient WHERE entry_id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, [entry.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("forwarded", ["not-an-ip", "1.2.3.4:80, <script>", "'; DROP TABLE x", "999.1.1.1", ","])
def test_a_malformed_forwarded_for_is_never_a_500_nor_stored(client_a, patient_a, forwarded, settings):
    for trusted in ([], ["127.0.0.0/8"]):
        settings.CLE_TRUSTED_PROXIES = trusted
        response = client_a.get(reverse("patients:detail", args=[patient_a.pk]),
                                HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 200
        assert AuditEntry.objects.latest().remote_addr == "127.0.0.1"


def test_the_client_address_is_taken_only_from_trusted_proxies(rf, settings):
    from clinic.addresses import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    settings.CLE_TRUSTED_PROXIES, settings.CLE_BEHIND_PROXY = [], False
    assert client_ip(request) == "10.0.0.2"  # nobody vouches for the header
    settings.CLE_BEHIND_PROXY = True
    assert client_ip(request) == "203.0.113.9"  # the one proxy's own hop, not the client's claim
    settings.CLE_TRUSTED_PROXIES = ["10.0.0.0/8", "203.0.113.9"]
    assert client_ip(request) == "6.6.6.6"
    settings.CLE_TRUSTED_PROXIES = ["192.168.0.0/16"]
    assert client_ip(request) == "10.0.0.2"  # the peer is no trusted proxy


@pytest.mark.django_db
def test_lists_log_the_patient_ids_shown(client_a, patient_a):
    client_a.get(reverse("patients:list"), {"q": "SYN"})
    entry = AuditEntry.objects.filter(event=Event.ACCESS).latest()
    assert entry.additional_data["patients"] == [str(patient_a.pk)]
    assert entry.additional_data["page"] == "patient search"
    assert list(entry.patient_index.values_list("patient_id", flat=True)) == [patient_a.pk]


@pytest.mark.django_db
def test_an_export_logs_one_entry_on_each_patients_history(client_a, patient_a):
    client_a.get(reverse("exchange:export", args=[patient_a.clinic_id]))
    entry = AuditEntry.objects.get(event=Event.EXPORT, additional_data__patient=str(patient_a.pk))
    assert entry.actor_username == "ana.clinician"


@pytest.mark.django_db
def test_erasure_deletes_the_record_and_keeps_the_code_without_clinical_content(client_a, patient_a, course_a):
    import datetime as dt

    from patients.models import Patient
    from patients.services import record_visit

    record_visit(patient_a, date=dt.date(2025, 2, 1), note="very private note")
    url = reverse("patients:erase", args=[patient_a.pk])
    assert client_a.post(url, {"typed_code": "SYN-002"}).status_code == 400
    assert Patient.objects.filter(pk=patient_a.pk).exists()
    assert client_a.post(url, {"typed_code": "SYN-001"}).status_code == 302
    assert not Patient.objects.filter(pk=patient_a.pk).exists()
    erasure = AuditEntry.objects.get(event=Event.ERASURE)
    assert erasure.object_repr == "SYN-001" and erasure.actor_username == "ana.clinician"
    assert erasure.additional_data["erased"] == {"visits": 1, "courses": 1}
    # Earlier entries about the patient keep who, when and what kind, not the content.
    everything = str(list(AuditEntry.objects.values()))
    assert "very private" not in everything and "Synthetic Patient" not in everything
    earlier = AuditEntry.objects.filter(additional_data__patient=str(patient_a.pk), seq__lt=erasure.seq)
    assert earlier.exists() and not earlier.filter(redacted_at__isnull=True).exists()
    assert erasure.additional_data["redacted_entries"] == earlier.count()
    call_command("verify_audit")  # the redaction keeps the chain whole


@pytest.mark.django_db
def test_a_deletion_keeps_no_clinical_content(patient_a):
    from patients.models import Patient

    Patient.objects.get(pk=patient_a.pk).delete()  # as the admin's delete does
    entry = AuditEntry.objects.get(event=Event.DELETE, content_type__model="patient")
    assert entry.changes == {} and entry.object_repr == "SYN-001"
    assert "Synthetic" not in str(entry.__dict__)


@pytest.mark.django_db
def test_the_report_is_for_staff_and_is_itself_audited(client_a, clinician_a, patient_a):
    client_a.get(reverse("patients:detail", args=[patient_a.pk]))
    assert client_a.get(reverse("audit:report")).status_code == 403
    clinician_a.is_staff = True
    clinician_a.save()
    response = client_a.get(reverse("audit:report"), {"user": "ana.clinician", "patient": "SYN-001"})
    assert response.status_code == 200
    assert b"SYN-001" in response.content
    assert AuditEntry.objects.filter(event=Event.ACCESS, object_repr="audit report").exists()
    assert client_a.get(reverse("audit:report"), {"start": "bad"}).status_code == 200
