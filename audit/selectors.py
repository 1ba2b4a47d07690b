"""Reading the audit: a patient's history as a clinical record reads it, and
the clinic-wide report by user, patient and dates (ONC 170.315(d)(3))."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from audit.models import AuditEntry, Event

READS = (Event.ACCESS, Event.EXPORT)
# Bookkeeping fields a reader of the record does not need to see change.
# (The record column names the visit or course a lab or dose step belongs to.)
HIDDEN_FIELDS = frozenset({"id", "created_at", "updated_at", "patient", "clinic", "visit", "course"})
# How many single accesses of one person the history lists behind the click.
ACCESS_DETAIL = 50


def patient_entries(patient_id) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(patient_index__patient_id=patient_id)


@dataclass
class Readers:
    """'viewed n times by someone': one line per person, details on demand."""

    who: str
    count: int
    first: dt.datetime
    last: dt.datetime
    recent: list[AuditEntry] = field(default_factory=list)


def readers(patient_id) -> list[Readers]:
    """Who viewed or exported the patient's record: two queries."""
    reads = patient_entries(patient_id).filter(event__in=READS)
    summary = (
        reads.values("actor_username")
        .annotate(count=Count("id"), first=Min("timestamp"), last=Max("timestamp"))
        .order_by("-last")
    )
    people = {row["actor_username"]: Readers(row["actor_username"] or "system", row["count"],
                                             row["first"], row["last"]) for row in summary}
    recent = reads.order_by("-seq").only(
        "seq", "timestamp", "actor_username", "event", "object_repr", "additional_data", "content_type"
    ).select_related("content_type")[: ACCESS_DETAIL * max(len(people), 1)]
    for entry in recent:
        person = people.get(entry.actor_username)
        if person is not None and len(person.recent) < ACCESS_DETAIL:
            person.recent.append(entry)
    return list(people.values())


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


def change_rows(entry: AuditEntry, users: dict[str, str]) -> list[Change]:
    """The entry's changed fields by their names, users by their usernames."""
    model = entry.content_type.model_class()
    rows = []
    for name, change in (entry.changes_dict or {}).items():
        if name in HIDDEN_FIELDS:
            continue
        label, is_user = name, False
        if model is not None:
            try:
                model_field = model._meta.get_field(name)
            except FieldDoesNotExist:
                pass
            else:
                if not getattr(model_field, "concrete", True):
                    continue  # a reverse relation: django-auditlog writes "app.Model.None"
                label = str(getattr(model_field, "verbose_name", name))
                is_user = getattr(model_field, "related_model", None) is get_user_model()
        if isinstance(change, (list, tuple)) and len(change) == 2:
            before, after = (_shown(v, users if is_user else None) for v in change)
        else:
            before, after = "", str(change)
        rows.append(Change(label, before, after))
    return rows


def _shown(value, users: dict[str, str] | None) -> str:
    text = "" if value in (None, "None") else str(value)
    if users is not None and text:
        return users.get(text, f"user #{text} (deleted)")
    return text


def user_names(entries: list[AuditEntry]) -> dict[str, str]:
    """Usernames of the users named in these entries' changes (one query)."""
    ids = set()
    User = get_user_model()
    for entry in entries:
        model = entry.content_type.model_class()
        for name, change in (entry.changes_dict or {}).items():
            try:
                related = model._meta.get_field(name).related_model if model else None
            except FieldDoesNotExist:
                continue
            if related is User and isinstance(change, (list, tuple)):
                ids.update(str(v) for v in change if v not in (None, "None"))
    numeric = [i for i in ids if i.isdigit()]
    return {str(pk): name for pk, name in User.objects.filter(pk__in=numeric).values_list("pk", "username")}


def changes(patient_id) -> QuerySet[AuditEntry]:
    """Everything but the reads, newest first: what was written and by whom."""
    return (
        patient_entries(patient_id)
        .exclude(event__in=READS)
        .select_related("content_type")
        .order_by("-seq")
    )


@dataclass(frozen=True)
class ReportFilter:
    username: str = ""
    patient_ids: tuple | None = None  # None: any patient; (): a code that matched nobody
    start: dt.date | None = None
    end: dt.date | None = None
    event: str = ""


def report(filters: ReportFilter) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.select_related("content_type").order_by("-seq")
    if filters.username:
        entries = entries.filter(actor_username=filters.username)
    if filters.patient_ids is not None:
        entries = entries.filter(patient_index__patient_id__in=filters.patient_ids).distinct()
    if filters.start:
        entries = entries.filter(timestamp__gte=_local_midnight(filters.start))
    if filters.end:
        entries = entries.filter(timestamp__lt=_local_midnight(filters.end + dt.timedelta(days=1)))
    if filters.event:
        entries = entries.filter(event=filters.event)
    return entries


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))
