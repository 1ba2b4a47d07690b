"""Stored CLASI assessments and clinicians' acknowledgements of flare flags.

Written only through scoring/services.py, so that the totals can never
disagree with the raw items they were computed from.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from patients.models import AuditedRecord, Patient, Visit


class Assessment(AuditedRecord):
    """One CLASI examination of one visit: every raw item and its totals."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="assessment")
    instrument = models.CharField(max_length=16, default="CLASI")
    version = models.CharField(max_length=16, default="2005")
    # The whole examination in the exchange format, every cell explicit, so a
    # later instrument version can be recomputed from what was seen.
    items = models.JSONField()
    activity = models.PositiveSmallIntegerField()
    damage = models.PositiveSmallIntegerField()
    severity = models.CharField(max_length=16)
    # Subtotals trials analyse (erythema, scale, alopecia, mucosa ...).
    activity_parts = models.JSONField(default=dict)
    damage_parts = models.JSONField(default=dict)
    scored_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(instrument="CLASI") | Q(activity__gte=0, activity__lte=70),
                name="clasi_activity_0_to_70",
            ),
            models.CheckConstraint(
                condition=~Q(instrument="CLASI") | Q(damage__gte=0, damage__lte=56),
                name="clasi_damage_0_to_56",
            ),
            models.CheckConstraint(
                condition=Q(severity__in=["mild", "moderate", "severe"]),
                name="assessment_severity_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} A{self.activity}/D{self.damage}"

    def audit_patient_id(self) -> uuid.UUID:
        return self.visit.patient_id


class FlagAcknowledgement(AuditedRecord):
    """A clinician has seen a flare flag of one withdrawal or dose reduction.

    Flags are computed from the record, not stored; the acknowledgement is
    attached to the flag's event key (course, event kind, event date), so a
    flag of a new event appears again while an acknowledged one stays in the
    patient's history.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="flag_acknowledgements"
    )
    flag_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=64)
    visit = models.ForeignKey(Visit, on_delete=models.SET_NULL, null=True, blank=True)
    note = models.TextField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "flag_key"], name="one_ack_per_flag_event"),
            models.CheckConstraint(condition=~Q(note=""), name="ack_note_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} acknowledged by {self.acknowledged_by}"

    def audit_patient_id(self) -> uuid.UUID:
        return self.patient_id


class PatientState(models.Model):
    """What the list pages need about one patient, kept instead of recomputed (issue 13).

    Written only by scoring.state.refresh_states, inside the transaction of
    every write that can change it (patients.concurrency.writes_patient, the
    importer, the acknowledgement service); `valid_until` is the first day the
    calendar alone could change it (scoring.state.next_change). A cache of the
    rules over audited rows, so it is not audited itself.
    """

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, primary_key=True, related_name="state"
    )
    # The patient's clinic, copied by every refresh (patients do not move between
    # clinics): the clinic-wide pages read and check the state through indexes that
    # start with it, so their cost follows the page, not the clinic's size.
    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.CASCADE, related_name="+", db_index=False)
    # The open worklist, most urgent first: scoring.state.item_row per item.
    items = models.JSONField(default=list)
    open_items = models.PositiveSmallIntegerField(default=0)
    # The most urgent item's urgency and date: the needs-attention page's order.
    top_urgency = models.PositiveSmallIntegerField(null=True)
    top_date = models.DateField(null=True)
    # " cytopenia flag ": the kinds of the open items, for the page's kind filter.
    kinds = models.CharField(max_length=200, default="", blank=True)
    latest_activity = models.PositiveSmallIntegerField(null=True)
    latest_activity_date = models.DateField(null=True)
    # What the patient takes on computed_on, in words (clinical.record.Treatment.text).
    treatments = models.JSONField(default=list)
    computed_on = models.DateField()
    valid_until = models.DateField(null=True)  # None: only a write can change it
    # scoring.state.rules_version() of the code that computed it: other rules, stale row.
    rules = models.CharField(max_length=16, default="", blank=True)

    class Meta:
        indexes = [
            # The needs-attention page of a clinic, in its order (count and page).
            # (Its patient ids included: the patient list's filter reads them from the index alone.)
            models.Index(fields=["clinic", "top_urgency", "-top_date"], condition=Q(open_items__gt=0),
                         include=["patient"], name="state_open_worklist"),
            # Is anything of a clinic stale (scoring.state.probe_clinics): one index probe each.
            models.Index(fields=["clinic", "valid_until"], name="state_clinic_valid_until"),
            models.Index(fields=["clinic", "computed_on"], name="state_clinic_computed_on"),
            models.Index(fields=["clinic", "rules"], name="state_clinic_rules"),
            # The daily command's stale rows across all clinics.
            models.Index(fields=["valid_until"], name="state_valid_until"),
        ]

    def __str__(self) -> str:
        return f"state of {self.patient_id}: {self.open_items} open"
