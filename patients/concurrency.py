"""No lost updates: optimistic versions checked under the row lock.

The mechanism, for any record with an edit form (Patient, Visit, Course):

- the model has ``version = PositiveIntegerField(default=1, editable=False)``;
- the edit view adds the hidden field with :func:`carry_version` (the version the
  page was read at, or, when a form is posted, the one it was read at then);
- the service re-reads the row under ``SELECT ... FOR UPDATE`` with
  :func:`lock_current` (a row deleted meanwhile raises :class:`RecordGone`:
  an update never re-inserts it), calls :func:`check_version` (raises
  :class:`StaleEdit` carrying the current row), writes, and calls :func:`bump`
  (also when a child the edit form shows changed: a visit's labs, a course's
  dose steps);
- the view catches :class:`StaleEdit` and re-renders the form with what was
  typed, :func:`conflict` beside it, and the current version in the hidden
  field (so saving again is a deliberate "save mine over theirs");
  :func:`gone_page` turns :class:`RecordGone` (or a 404 of a record the audit
  trail shows deleted) into a page naming who deleted it.

Locks are taken patient first, then the record (the order every service of
patients.services already uses), so two writers never wait on each other in a
cycle.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

EMPTY = "—"


class StaleEdit(Exception):
    """The form was read at `read_version`; the record is now at `current.version`."""

    def __init__(self, current: models.Model, read_version: int) -> None:
        super().__init__(
            f"{current._meta.verbose_name} {current.pk} changed since it was read "
            f"(version {read_version}, now {current.version})"
        )
        self.current = current
        self.read_version = read_version


class RecordGone(Exception):
    """The record was deleted (by someone else) before this write reached it."""

    def __init__(self, model: type[models.Model], pk) -> None:
        super().__init__(f"{model._meta.verbose_name} {pk} no longer exists")
        self.model = model
        self.pk = pk


# -- services' side -------------------------------------------------------------


def lock_current(queryset: QuerySet | type[models.Model], pk):
    """The row as it is now, locked until the transaction ends; RecordGone if deleted.

    Never `Model.save()` a copy read before the lock: on a missing primary key
    Django INSERTs, bringing a deleted record back.
    """
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    current = queryset.select_for_update().filter(pk=pk).first()
    if current is None:
        raise RecordGone(queryset.model, pk)
    if queryset.model._meta.label == "patients.Patient":
        touch(current.pk)
    return current


# -- derived state: recomputed in the write's own transaction ---------------------------
#
# Every service that writes a patient's record takes the patient's lock through
# lock_current (above), so the lock is the one place that knows which patients a
# write touched. `writes_patient` (the services' decorator, in place of
# transaction.atomic) collects them and, before the transaction commits,
# recomputes their stored state (scoring.state.refresh_states): a reader never
# sees a record and a state of different moments.

_touched: contextvars.ContextVar[set | None] = contextvars.ContextVar("touched_patients", default=None)


def touch(patient_id) -> None:
    """Note that this write changes the patient's record (a no-op outside writes_patient)."""
    touched = _touched.get()
    if touched is not None:
        touched.add(patient_id)


def writes_patient(service):
    """transaction.atomic, plus: the derived state of every patient the service locked
    (or touched) is recomputed at its end, inside the transaction. Nested services
    recompute once, at the outermost."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        with transaction.atomic():
            if _touched.get() is not None:
                return service(*args, **kwargs)
            token = _touched.set(set())
            try:
                result = service(*args, **kwargs)
                touched = _touched.get()
                if touched:
                    from scoring.state import refresh_states  # scoring reads patients' models

                    refresh_states(touched)
                return result
            finally:
                _touched.reset(token)

    return wrapper


def check_version(current: models.Model, read_version: int | None) -> None:
    """Refuse a write based on an older read. `current` must come from lock_current.

    None means the caller read no form (imports, scripts, internal corrections):
    it still writes under the lock, it just has no read to compare.
    """
    if read_version is not None and read_version != current.version:
        raise StaleEdit(current, read_version)


def bump(current: models.Model, *, save: bool = False) -> None:
    """The next version; `save=True` when only a child changed (saves version alone).

    Safe as a plain increment: `current` is locked, nobody else can bump it now.
    """
    current.version += 1
    if save:
        fields = ["version"]
        if any(f.name == "updated_at" for f in current._meta.fields):
            fields.append("updated_at")
        current.save(update_fields=fields)


# -- forms' side ------------------------------------------------------------------

VERSION_FIELD = "version"


def carry_version(form: forms.BaseForm, version: int) -> forms.BaseForm:
    """Add the hidden version field to an edit form (the record's version when unbound)."""
    form.fields[VERSION_FIELD] = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        initial=version,
        error_messages={
            "required": "This form was not read from the current record: open it again.",
            "invalid": "This form was not read from the current record: open it again.",
        },
    )
    if not form.is_bound:
        form.initial[VERSION_FIELD] = version
    return form


def take_version(form: forms.BaseForm, version: int) -> None:
    """Put the current version in a bound form's hidden field: saving it again
    is then a deliberate choice to replace the other person's change."""
    data = form.data.copy()
    data[VERSION_FIELD] = str(version)
    form.data = data


# -- what the pages show ------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """Who last wrote a record, and when (from the audit trail; else updated_at)."""

    who: str
    when: dt.datetime | None


@dataclass(frozen=True)
class Difference:
    label: str
    current: str
    yours: str


@dataclass(frozen=True)
class Conflict:
    what: str  # "this visit"
    change: Change
    read_version: int
    current_version: int
    differences: list[Difference]


def _actor_name(entry) -> str:
    # One place to read an audit entry's actor (the audit app may keep a snapshot).
    # The audit keeps the actor's name as it was (a renamed or deleted user rewrites nothing).
    label = getattr(entry, "actor_label", "")
    return label or "someone (not recorded)"


def _entries(model: type[models.Model], pk):
    from audit.models import AuditEntry as LogEntry

    return (
        LogEntry.objects.get_for_model(model)
        .filter(object_pk=str(pk))
        .select_related("actor")
        .order_by("-timestamp", "-pk")
    )


def last_change(current: models.Model) -> Change:
    from audit.models import AuditEntry as LogEntry

    entry = _entries(type(current), current.pk).exclude(action=LogEntry.Action.ACCESS).first()
    if entry is not None:
        return Change(_actor_name(entry), entry.timestamp)
    return Change("someone (not recorded)", getattr(current, "updated_at", None))


def deletion(model: type[models.Model], pk):
    """The audit entry of the record's deletion, or None."""
    from audit.models import AuditEntry as LogEntry

    return _entries(model, pk).filter(action=LogEntry.Action.DELETE).first()


def text(field: forms.Field | None, value) -> str:
    """A value as the form shows it in words: choice labels, ISO dates, Yes/No."""
    if value in (None, "", [], ()):
        return EMPTY
    if isinstance(field, forms.ModelChoiceField) and isinstance(value, models.Model):
        return field.label_from_instance(value)
    if isinstance(field, forms.ChoiceField):
        labels = {str(k): str(v) for k, v in field.choices}
        if isinstance(field, forms.MultipleChoiceField):
            # In the vocabulary's order, so equal sets read the same.
            chosen = {str(v) for v in value}
            return ", ".join(label for key, label in labels.items() if key in chosen)
        return labels.get(str(value), str(value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def form_texts(form: forms.BaseForm, values: Mapping, names: Iterable[str] | None = None) -> dict:
    """{name: (label, text)} of a form's fields for `values` shaped like cleaned_data."""
    out = {}
    for name in names or form.fields:
        if name == VERSION_FIELD or name not in form.fields:
            continue
        field = form.fields[name]
        out[name] = (str(field.label or name.replace("_", " ").capitalize()), text(field, values.get(name)))
    return out


def differences(current: Mapping[str, tuple[str, str]], yours: Mapping[str, tuple[str, str]]) -> list[Difference]:
    """The rows where the saved record and what was typed differ, in the form's order."""
    rows = []
    for key in [*yours, *(k for k in current if k not in yours)]:
        label, mine = yours.get(key, (current[key][0], EMPTY))
        theirs = current.get(key, (label, EMPTY))[1]
        if mine != theirs:
            rows.append(Difference(label, theirs, mine))
    return rows


def conflict(stale: StaleEdit, what: str, rows: list[Difference]) -> Conflict:
    return Conflict(what, last_change(stale.current), stale.read_version, stale.current.version, rows)


# -- a deleted record stays deleted ----------------------------------------------------


def gone_page(model: type[models.Model], kwarg: str):
    """Decorate a write view: a record deleted meanwhile answers 410 with who deleted
    it and when, never a 500 and never a re-insert.

    The page is shown only to users who may see the record's patient (the audit
    entry names it); anyone else gets the same 404 as for an id that never existed.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except RecordGone as gone:
                return _gone_response(request, gone.model, gone.pk, fallback=None)
            except Http404:
                pk = kwargs.get(kwarg)
                if pk is None or deletion(model, pk) is None:
                    raise
                return _gone_response(request, model, pk, fallback=Http404)

        return wrapper

    return decorator


def _gone_response(request: HttpRequest, model: type[models.Model], pk, fallback) -> HttpResponse:
    from clinic.access import get_for_user
    from patients.models import Patient

    entry = deletion(model, pk)
    patient = None
    patient_id = (entry.additional_data or {}).get("patient") if entry is not None else None
    if patient_id and not (model is Patient and str(patient_id) == str(pk)):
        try:
            patient = get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id)
        except Http404:
            if fallback is not None:
                raise
    elif fallback is not None:
        # A deleted patient: without the record there is no clinic to check access against.
        raise fallback
    context = {
        "what": entry.object_repr if entry is not None else str(model._meta.verbose_name),
        "kind": model._meta.verbose_name,
        "change": Change(_actor_name(entry), entry.timestamp) if entry is not None else None,
        "patient": patient,
    }
    return render(request, "patients/gone.html", context, status=410)


def form_conflict(
    form: forms.BaseForm, stale: StaleEdit, what: str, current_values: Mapping
) -> Conflict:
    """The conflict of a one-form edit page: every field of the form whose typed value
    differs from the saved one. Puts the current version in the form's hidden field."""
    rows = differences(form_texts(form, current_values), form_texts(form, form.cleaned_data))
    take_version(form, stale.current.version)
    return conflict(stale, what, rows)
