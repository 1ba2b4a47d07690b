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
