"""Clinical photographs of a visit and the patient's photographic consent.

The image files live in the private `photos` storage (settings.STORAGES),
named by random ids; a row holds the names of its three versions. Nothing
from the camera is kept: the date a photograph stands for is its visit's.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from patients.models import AuditedRecord, Patient, Visit


class ConsentLevel(models.TextChoices):
    """Each level includes the ones before it (publication implies teaching)."""

    NONE = "none", "No consent to photographs"
    RECORD = "record", "For the medical record only"
    TEACHING = "teaching", "For the record and teaching"
    PUBLICATION = "publication", "For the record, teaching and publication"


CONSENT_ORDER = [level.value for level in ConsentLevel]


def consent_allows(level: str, needed: str) -> bool:
    return CONSENT_ORDER.index(level) >= CONSENT_ORDER.index(needed)


class PhotoConsent(AuditedRecord):
    """The patient's current photographic consent; its changes are in the audit trail."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="photo_consent")
    level = models.CharField(max_length=16, choices=ConsentLevel.choices)
    given_on = models.DateField("date of consent")
    note = models.CharField(max_length=300, blank=True)
    # None: imported from a cle-tracker document by the command line (no user).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(level__in=CONSENT_ORDER), name="photo_consent_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} ({self.given_on.isoformat()})"

    def allows(self, needed: str) -> bool:
        return consent_allows(self.level, needed)

    def audit_patient_id(self) -> uuid.UUID:
        return self.patient_id


class Photo(AuditedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="photos")
    # CLASI area keys of the instrument (clinical.instruments), validated by the service.
    areas = models.JSONField()
    caption = models.CharField(max_length=300, blank=True)
    source_format = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # Storage names (random, no patient data) of the three versions.
    full_name = models.CharField(max_length=100, unique=True)
    screen_name = models.CharField(max_length=100, unique=True)
    thumb_name = models.CharField(max_length=100, unique=True)
    full_bytes = models.PositiveIntegerField()
    screen_bytes = models.PositiveIntegerField()
    thumb_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["visit", "uploaded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source_format__in=["JPEG", "PNG", "HEIC"]),
                name="photo_source_format_valid",
            ),
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="photo_has_pixels"),
        ]

    def __str__(self) -> str:
        return f"Photograph of {self.visit.date.isoformat()}" if self.visit_id else "Photograph"

    @property
    def area_labels(self) -> list[str]:
        from clinical.instruments.clasi import CLASI

        known = set(CLASI.area_keys)
        return [CLASI.area(a).label if a in known else a for a in self.areas]

    @property
    def thumb_size(self) -> tuple[int, int]:
        """The thumbnail's pixels (<img width height>: no layout shift while it loads)."""
        from photos.imaging import thumb_size

        limits = settings.CLE_PHOTO_LIMITS
        return thumb_size((self.width, self.height), limits["screen_side"], limits["thumb_side"])

    def file_names(self) -> tuple[str, str, str]:
        return (self.full_name, self.screen_name, self.thumb_name)

    def audit_patient_id(self) -> uuid.UUID:
        return self.visit.patient_id
