"""Writing audit entries for what django-auditlog's model signals do not see:
sign-ins, accesses of patient data, exports, erasures.

The actor and the address come from the current request (audit.context)
unless given; every entry joins the hash chain (audit.models).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.models import AuditEntry, Event


def log_event(
    event: Event,
    target: models.Model,
    *,
    actor=None,
    repr: str | None = None,
    changes: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """One entry about `target` (a user, a clinic, a patient)."""
    action = AuditEntry.Action.ACCESS if event in (Event.ACCESS, Event.EXPORT) else AuditEntry.Action.UPDATE
    entry = AuditEntry(
        event=event,
        action=action,
        content_type=ContentType.objects.get_for_model(target),
        object_pk=str(target.pk),
        object_repr=repr if repr is not None else str(target),
        changes=changes or {},
        additional_data=data or None,
        actor=actor,
    )
    entry.save()
    return entry


def log_user_event(event: Event, user, *, username: str | None = None, actor=None, **data) -> AuditEntry:
    """A sign-in, sign-out, password or second-factor event of `user`.

    For a failed sign-in with an unknown username, `user` is None: the entry
    is about the username typed (kept, as it may show an attack)."""
    User = get_user_model()
    target = user if user is not None else User(pk=None)
    name = username if username is not None else user.get_username()
    entry = AuditEntry(
        event=event,
        action=AuditEntry.Action.ACCESS,
        content_type=ContentType.objects.get_for_model(User),
        object_pk=str(target.pk) if target.pk is not None else "",
        object_repr=name,
        changes={},
        additional_data=data or None,
        actor=actor if actor is not None else (user if event not in _NOT_BY_THE_USER else None),
    )
    entry.save()
    return entry


# Events where the user named is not the one acting (nobody is signed in).
_NOT_BY_THE_USER = frozenset({Event.SIGN_IN_FAILED, Event.LOCKED_OUT})


def log_patients_shown(what: str, patients: Sequence[models.Model], *, user) -> AuditEntry | None:
    """One access entry for a page that lists patients (list, search, worklist,
    cohort), naming every patient shown; about the clinic when they all belong
    to one, else about the user who looked."""
    patients = list(patients)
    if not patients:
        return None
    from clinic.models import Clinic

    clinics = {p.clinic_id for p in patients}
    target = Clinic(pk=clinics.pop()) if len(clinics) == 1 else user
    return log_event(
        Event.ACCESS,
        target,
        actor=user,
        repr=what,
        data={"page": what, "patients": [str(p.pk) for p in patients]},
    )


def log_export(what: str, clinic, patients: Sequence[tuple[Any, str]]) -> None:
    """An export of many patients: one entry on the clinic and one on each
    exported patient's history, written in one insert."""
    from patients.models import Patient

    patient_type = ContentType.objects.get_for_model(Patient)
    clinic_type = ContentType.objects.get_for_model(clinic)
    entries = [
        AuditEntry(
            event=Event.EXPORT, action=AuditEntry.Action.ACCESS, content_type=clinic_type,
            object_pk=str(clinic.pk), object_repr=str(clinic), changes={},
            additional_data={"bulk_read": what, "patients": len(patients)},
        )
    ] + [
        AuditEntry(
            event=Event.EXPORT, action=AuditEntry.Action.ACCESS, content_type=patient_type,
            object_pk=str(pk), object_repr=code, changes={},
            additional_data={"patient": str(pk), "code": code, "bulk_read": what},
        )
        for pk, code in patients
    ]
    AuditEntry.objects.bulk_create(entries)


def redact_patient(patient_id) -> int:
    """Remove what the audit says about an erased patient's record (names,
    notes, values in the changes) from every entry about them, keeping who,
    when, what kind of change and from where. The chain still verifies: it
    covers the removed text through its digest (audit.chain). Returns the
    number of entries redacted."""
    from django.utils import timezone

    # Entries about this patient alone: a list that also showed others keeps its page name.
    entries = AuditEntry.objects.filter(
        patient_index__patient_id=patient_id, additional_data__patient=str(patient_id),
        redacted_at__isnull=True,
    )
    return AuditEntry.objects.filter(pk__in=entries.values("pk")).update(
        changes={}, changes_text="", serialized_data=None, object_repr="(erased)",
        redacted_at=timezone.now(),
    )
