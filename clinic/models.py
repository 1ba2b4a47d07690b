"""The organisation: clinics and who belongs to them with which role."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Clinic(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=~models.Q(name=""), name="clinic_name_not_empty")]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CLINICIAN = "clinician", "Clinician (reads and writes)"
    VIEWER = "viewer", "Viewer (reads only)"


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLINICIAN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="one_membership_per_clinic"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.clinic} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role == Role.CLINICIAN
