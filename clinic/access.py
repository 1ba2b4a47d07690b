"""The one way a view reaches a clinical record.

Every record is fetched through the signed-in user's clinic memberships:
outside them it does not exist (404, so a URL reveals nothing); a viewer's
attempt to write is refused with 403. Views never call `Model.objects.get`
on a clinical model directly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import F
from django.http import Http404

from clinic.models import Clinic, Membership, Role

M = TypeVar("M", bound=models.Model)

# How each clinical model reaches its clinic.
CLINIC_PATH: dict[str, str] = {
    "clinic.clinic": "",
    "patients.patient": "clinic",
    "patients.visit": "patient__clinic",
    "patients.course": "patient__clinic",
    "patients.dosestep": "course__patient__clinic",
    "patients.interruption": "course__patient__clinic",
    "patients.labresult": "visit__patient__clinic",
    "patients.adverseevent": "visit__patient__clinic",
    "scoring.assessment": "visit__patient__clinic",
    "scoring.flagacknowledgement": "patient__clinic",
    "photos.photo": "visit__patient__clinic",
    "photos.photoconsent": "patient__clinic",
    "jobs.job": "clinic",
}


def _path(model: type[models.Model]) -> str:
    try:
        return CLINIC_PATH[model._meta.label_lower]
    except KeyError:
        raise LookupError(f"{model._meta.label} has no clinic path in clinic.access") from None


def _join(path: str, field: str) -> str:
    return f"{path}__{field}" if path else field


def scoped(user, model_or_qs: type[M] | models.QuerySet[M]) -> models.QuerySet[M]:
    """The records of `model` in the user's clinics, each annotated with the
    user's role there as `access_role`."""
    qs = model_or_qs if isinstance(model_or_qs, models.QuerySet) else model_or_qs._default_manager.all()
    if not user.is_authenticated:
        return qs.none()
    path = _path(qs.model)
    # One filter() call and the annotation share the same membership join, so
    # the role is the role in *that* record's clinic.
    return qs.filter(**{_join(path, "memberships__user"): user}).annotate(
        access_role=F(_join(path, "memberships__role"))
    )


def get_for_user(
    user,
    model_or_qs: type[M] | models.QuerySet[M],
    pk: uuid.UUID | str,
    *,
    write: bool = False,
) -> M:
    """Fetch one record the user may see; 404 outside their clinics, 403 for a
    viewer when `write` is asked for."""
    try:
        obj = scoped(user, model_or_qs).get(pk=pk)
    except (models.ObjectDoesNotExist, ValueError, ValidationError):
        # ValidationError/ValueError: text that is not a UUID never names a record.
        raise Http404("No such record.") from None
    if write and obj.access_role != Role.CLINICIAN:
        raise PermissionDenied("Viewers cannot change the record.")
    return obj


def can_write(obj: models.Model) -> bool:
    """Whether the record was fetched for a user who may change it."""
    return getattr(obj, "access_role", None) == Role.CLINICIAN


@dataclass(frozen=True)
class ClinicAccess:
    clinic: Clinic
    role: str

    @property
    def can_write(self) -> bool:
        return self.role == Role.CLINICIAN


def clinics_for(user) -> list[ClinicAccess]:
    if not user.is_authenticated:
        return []
    memberships = Membership.objects.filter(user=user).select_related("clinic")
    return [ClinicAccess(m.clinic, m.role) for m in memberships]


def writable_clinics(user) -> models.QuerySet[Clinic]:
    return Clinic.objects.filter(memberships__user=user, memberships__role=Role.CLINICIAN)


def require_clinic(user, clinic_id: uuid.UUID | str, *, write: bool = False) -> Clinic:
    return get_for_user(user, Clinic, clinic_id, write=write)
