"""Writes to the organisation: clinics, users and memberships."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.models import Clinic, Membership, Role


@dataclass(frozen=True)
class EnrolmentResult:
    clinic_created: bool
    user_created: bool
    membership_created: bool
    role_changed: bool


@transaction.atomic
def enrol(username: str, clinic_name: str, role: str = Role.CLINICIAN, password: str | None = None) -> EnrolmentResult:
    """Create (if needed) the clinic, the user and the membership; idempotent.

    An existing user's password changes only when a new one is given.
    """
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}, not {role!r}")
    username, clinic_name = username.strip(), clinic_name.strip()
    if not clinic_name:
        raise ValueError("the clinic needs a name")
    if not username:
        raise ValueError("the user needs a username")
    try:
        get_user_model().username_validator(username)
    except ValidationError as error:
        raise ValueError(f"username {username!r}: {' '.join(error.messages)}") from None
    clinic, clinic_created = Clinic.objects.get_or_create(name=clinic_name)
    User = get_user_model()
    user, user_created = User.objects.get_or_create(username=username)
    if password is not None:
        user.set_password(password)
        user.save()
    elif user_created:
        user.set_unusable_password()
        user.save()
    membership, membership_created = Membership.objects.get_or_create(
        user=user, clinic=clinic, defaults={"role": role}
    )
    role_changed = not membership_created and membership.role != role
    if role_changed:
        membership.role = role
        membership.save()
    return EnrolmentResult(clinic_created, user_created, membership_created, role_changed)


def log_bulk_read(clinic: Clinic, what: str, patients: list[tuple]) -> None:
    """Audit a read of many patients' records at once (an export, a CSV):
    one entry on the clinic and one on each patient's history.

    `patients` holds (id, code) pairs."""
    from audit.services import log_export

    log_export(what, clinic, patients)
