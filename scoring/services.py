"""The only writer of CLASI assessments: totals always come from the items."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.concurrency import lock_current, writes_patient
from patients.models import Patient, Visit
from clinical.instruments.exam import Exam, score
from scoring.models import Assessment, FlagAcknowledgement


def assessment_values(exam: Exam) -> dict[str, Any]:
    """The stored fields of an assessment of `exam`, scored by clinical.instruments.exam.score.

    Shared by save_assessment and the bulk importer (patients.exchange), so a
    bulk-created row can never hold totals the one scorer did not compute.
    """
    result = score(exam)
    return {
        "instrument": exam.instrument,
        "version": exam.version,
        "items": exam.to_dict(compact=False),
        "activity": result.activity,
        "damage": result.damage,
        "severity": result.severity,
        "activity_parts": dict(result.activity_parts),
        "damage_parts": dict(result.damage_parts),
    }


@transaction.atomic
def save_assessment(visit: Visit, exam: Exam, *, new: bool = False) -> Assessment:
    """Store `exam` as the visit's assessment, scored here and nowhere else.

    `new`: the visit was just created and has no assessment to replace."""
    if new:
        return Assessment.objects.create(visit=visit, **assessment_values(exam))
    assessment, _ = Assessment.objects.update_or_create(
        visit=visit, defaults=assessment_values(exam)
    )
    return assessment


@transaction.atomic
def remove_assessment(visit: Visit) -> None:
    Assessment.objects.filter(visit=visit).delete()


# -- flare flag acknowledgements (issue 5) ------------------------------------


@writes_patient
def acknowledge_flag(patient: Patient, flag_key: str, note: str, user) -> FlagAcknowledgement:
    """A clinician has seen one worklist item: a flare flag or an urgent safety item.

    The item is recomputed from the record here, inside the transaction, by
    the rules the worklist is made of (scoring.state.all_items), so a key
    that no longer raises an item (a visit, course, lab or dose step was
    corrected since the page was drawn) is refused rather than acknowledged
    blind. A second acknowledgement of the same item is refused too: the
    first note stays the one in the history. The patient's stored state is
    recomputed before the transaction commits (writes_patient), so the item
    leaves the needs-attention page with this write. Audited by auditlog
    (FlagAcknowledgement is registered in scoring.apps).
    """
    from scoring.selectors import timeline_for  # selectors import this module
    from scoring.state import all_items

    note = (note or "").strip()
    flag_key = (flag_key or "").strip()
    # Serialise acknowledgements of one patient (a row lock on PostgreSQL); the lock
    # also marks the patient for the state refresh (patients.concurrency).
    patient = lock_current(Patient, patient.pk)
    # Only a key that names a live item ever reaches a query: whatever a client
    # posts (NUL bytes included, which PostgreSQL refuses) gets a message, not a 500.
    flag = next(
        (i for i in all_items(timeline_for(patient), timezone.localdate()) if i.urgent and i.key == flag_key),
        None,
    )
    existing = (
        FlagAcknowledgement.objects.filter(patient=patient, flag_key=flag.key)
        .select_related("acknowledged_by")
        .first()
        if flag is not None
        else None
    )
    what = "safety item" if flag is not None and flag.kind != "flag" else "flag"
    if existing is not None:
        raise ValidationError(
            {
                "flag_key": f"This {what} was already acknowledged by "
                f"{existing.acknowledged_by.get_username()} on "
                f"{existing.acknowledged_at:%Y-%m-%d %H:%M}."
            }
        )
    if flag is None:
        raise ValidationError(
            {
                "flag_key": "No such flag or safety item in this patient's record any more: the visit, "
                "course, lab or dose step may have been changed. Reload the page."
            }
        )
    # The note is checked last: for a flag that is gone or already acknowledged,
    # that is the message worth reading, not "write a note".
    if not note:
        raise ValidationError({"note": "Write a note: what was seen and what was decided."})
    if len(note) > 4000:
        raise ValidationError({"note": "Keep the note under 4,000 characters."})
    if "\x00" in note:
        raise ValidationError({"note": "The note contains a NUL character, which cannot be stored."})
    try:
        with transaction.atomic():
            return FlagAcknowledgement.objects.create(
                patient=patient,
                flag_key=flag.key,
                # A flag keeps its rule's kind (withdrawal, reduction, ...); a safety item its own.
                kind=flag.flag_kind or flag.kind,
                visit_id=flag.visit_id,
                note=note,
                acknowledged_by=user,
            )
    except IntegrityError:
        # Another clinician acknowledged it between our check and our insert.
        raise ValidationError(
            {"flag_key": f"This {what} was just acknowledged by someone else."}
        ) from None
