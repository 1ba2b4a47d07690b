"""Every write to the clinical record.

Each function is one transaction and enforces the rules a database
constraint cannot say (courses of a patient never overlap; dose steps lie
within their course). Errors are `ValidationError`s keyed by the field they
concern, so a form can show them next to that field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.models import Clinic
from patients.dates import implausible
from patients.models import (
    AdverseEvent,
    CleSubtype,
    Course,
    DoseStep,
    Drug,
    LabResult,
    LabTest,
    Patient,
    PregnancyResult,
    StopReason,
    Visit,
)

PATIENT_FIELDS = (
    "code", "name", "sex", "birth_date", "cle_subtypes", "sle", "sle_diagnosed",
    "reproductive_potential", "note",
)


@dataclass(frozen=True)
class LabInput:
    test: str
    value: Decimal | None = None
    result: str = ""
    unit: str = ""


@dataclass(frozen=True)
class AdverseEventInput:
    term: str
    grade: int


def _today() -> dt.date:
    return timezone.localdate()


def _lock_patient(patient: Patient) -> Patient:
    """Serialise writes to one patient's courses and visits (PostgreSQL row lock),
    so two clinicians cannot create overlapping courses at the same moment."""
    return Patient.objects.select_for_update().get(pk=patient.pk)


# -- patients ---------------------------------------------------------------


def _check_patient(fields: dict, *, clinic: Clinic, instance: Patient | None) -> None:
    errors: dict[str, str] = {}
    code = (fields.get("code") or "").strip()
    if not code:
        errors["code"] = "Enter the clinic's code for this patient."
    else:
        clash = Patient.objects.filter(clinic=clinic, code=code)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["code"] = f"Another patient of {clinic.name} already has the code {code}."
    subtypes = fields.get("cle_subtypes") or []
    unknown = [s for s in subtypes if s not in CleSubtype.values]
    if unknown:
        errors["cle_subtypes"] = f"Unknown CLE subtype: {', '.join(map(str, unknown))}."
    elif len(set(subtypes)) != len(subtypes):
        errors["cle_subtypes"] = "A CLE subtype is listed twice."
    birth = fields.get("birth_date")
    diagnosed = fields.get("sle_diagnosed")
    for field, day in (("birth_date", birth), ("sle_diagnosed", diagnosed)):
        if implausible(day):
            errors[field] = implausible(day)
    if birth and birth > _today():
        errors["birth_date"] = "The birth date is in the future."
    if diagnosed and diagnosed > _today():
        errors["sle_diagnosed"] = "The SLE diagnosis date is in the future."
    elif diagnosed and not fields.get("sle"):
        errors["sle_diagnosed"] = "A diagnosis date needs SLE to be ticked."
    elif diagnosed and birth and diagnosed < birth:
        errors["sle_diagnosed"] = "The SLE diagnosis date is before the birth date."
    if errors:
        raise ValidationError(errors)


def _patient_values(fields: dict) -> dict:
    values = {key: fields[key] for key in PATIENT_FIELDS if key in fields}
    values["code"] = (values.get("code") or "").strip()
    # Subtypes keep the vocabulary's order, so equal sets compare equal.
    values["cle_subtypes"] = [s for s in CleSubtype.values if s in (values.get("cle_subtypes") or [])]
    return values


@transaction.atomic
def create_patient(clinic: Clinic, **fields) -> Patient:
    _check_patient(fields, clinic=clinic, instance=None)
    patient = Patient(clinic=clinic, **_patient_values(fields))
    patient.full_clean(exclude=["clinic"])
    patient.save()
    return patient


@transaction.atomic
def update_patient(patient: Patient, **fields) -> Patient:
    merged = {key: getattr(patient, key) for key in PATIENT_FIELDS} | fields
    _check_patient(merged, clinic=patient.clinic, instance=patient)
    for key, value in _patient_values(merged).items():
        setattr(patient, key, value)
    patient.full_clean(exclude=["clinic"])
    patient.save()
    return patient


# -- courses and dose steps ---------------------------------------------------


def _overlapping(patient: Patient, start: dt.date, end: dt.date | None, exclude: Course | None):
    """Courses of the patient sharing at least one day with [start, end]."""
    others = Course.objects.filter(patient=patient)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    for other in others:
        other_end = other.end or dt.date.max
        this_end = end or dt.date.max
        if other.start <= this_end and start <= other_end:
            return other
    return None


def _check_course_dates(patient: Patient, start: dt.date, end: dt.date | None, course: Course | None):
    for field, day in (("start", start), ("end", end)):
        if implausible(day):
            raise ValidationError({field: implausible(day)})
    if end is not None and end < start:
        raise ValidationError({"end": "The withdrawal date is before the course start."})
    other = _overlapping(patient, start, end, course)
    if other is not None:
        running = "still running" if other.end is None else f"until {other.end.isoformat()}"
        field = "start" if course is None or course.start != start else "end"
        raise ValidationError(
            {field: f"This overlaps the course from {other.start.isoformat()} ({running}); "
                    "a patient takes one lenalidomide course at a time."}
        )


def _check_dose(mg: Decimal | None, every_days: int | None) -> None:
    errors = {}
    if mg is None or mg <= 0:
        errors["mg"] = "The dose must be more than 0 mg."
    if every_days is None or every_days < 1:
        errors["every_days"] = "Every 1 day (daily) or more."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def start_course(
    patient: Patient,
    *,
    start: dt.date,
    mg: Decimal,
    every_days: int = 1,
    drug: str = Drug.LENALIDOMIDE,
    end: dt.date | None = None,
    stop_reason: str = "",
) -> Course:
    """Start a course with its first dose step on the start date."""
    patient = _lock_patient(patient)
    _check_dose(mg, every_days)
    _check_course_dates(patient, start, end, None)
    _check_stop_reason(end, stop_reason)
    course = Course.objects.create(
        patient=patient, drug=drug, start=start, end=end, stop_reason=stop_reason
    )
    DoseStep.objects.create(course=course, date=start, mg=mg, every_days=every_days)
    return course


def _check_stop_reason(end: dt.date | None, stop_reason: str) -> None:
    if stop_reason and stop_reason not in StopReason.values:
        raise ValidationError({"stop_reason": f"Unknown stop reason {stop_reason!r}."})
    if end is None and stop_reason:
        raise ValidationError({"stop_reason": "A course still running has no stop reason."})


def _check_step_in_course(course: Course, date: dt.date, field: str = "date") -> None:
    if date < course.start:
        raise ValidationError({field: f"The dose step is before the course start ({course.start.isoformat()})."})
    if course.end is not None and date > course.end:
        raise ValidationError({field: f"The dose step is after the withdrawal ({course.end.isoformat()})."})


def _locked_course(course: Course) -> Course:
    """The course as it is now, read under the patient's lock.

    Checking the copy a view loaded earlier could pass on stale data: two
    clinicians (or two tabs) withdrawing and changing the dose at once would
    leave a dose step after the withdrawal.
    """
    _lock_patient(course.patient)
    return Course.objects.select_related("patient").get(pk=course.pk)


def _locked_step(step: DoseStep) -> DoseStep:
    _lock_patient(step.course.patient)
    return DoseStep.objects.select_related("course__patient").get(pk=step.pk)


@transaction.atomic
def add_dose_step(course: Course, *, date: dt.date, mg: Decimal, every_days: int = 1) -> DoseStep:
    """A dose change from `date` on: increase, reduction (taper) or alternate days."""
    course = _locked_course(course)
    _check_dose(mg, every_days)
    _check_step_in_course(course, date)
    if DoseStep.objects.filter(course=course, date=date).exists():
        raise ValidationError({"date": f"The course already has a dose step on {date.isoformat()}."})
    return DoseStep.objects.create(course=course, date=date, mg=mg, every_days=every_days)


@transaction.atomic
def update_dose_step(step: DoseStep, *, date: dt.date, mg: Decimal, every_days: int) -> DoseStep:
    step = _locked_step(step)
    course = step.course
    _check_dose(mg, every_days)
    _check_step_in_course(course, date)
    if date != step.date and DoseStep.objects.filter(course=course, date=date).exists():
        raise ValidationError({"date": f"The course already has a dose step on {date.isoformat()}."})
    if step.date == course.start and date != course.start:
        raise ValidationError({"date": "The first dose step stays on the course start date."})
    step.date, step.mg, step.every_days = date, mg, every_days
    step.save()
    return step


@transaction.atomic
def remove_dose_step(step: DoseStep) -> None:
    step = _locked_step(step)
    course = step.course
    if step.date == course.start:
        raise ValidationError({"date": "The starting dose cannot be removed; delete the course instead."})
    step.delete()


@transaction.atomic
def withdraw(course: Course, *, end: dt.date, stop_reason: str) -> Course:
    """Record the withdrawal of lenalidomide: the course ends on `end`."""
    given, course = course, _locked_course(course)
    patient = course.patient
    if course.end is not None:
        raise ValidationError({"end": f"This course was already withdrawn on {course.end.isoformat()}."})
    if not stop_reason:
        raise ValidationError({"stop_reason": "Give the reason lenalidomide was stopped."})
    _check_stop_reason(end, stop_reason)
    _check_course_dates(patient, course.start, end, course)
    last_step = course.dose_steps.order_by("-date").first()
    if last_step is not None and last_step.date > end:
        raise ValidationError(
            {"end": f"A dose step on {last_step.date.isoformat()} comes after this withdrawal date."}
        )
    course.end, course.stop_reason = end, stop_reason
    course.save()
    given.end, given.stop_reason = end, stop_reason  # the caller's copy stays true
    return course


@transaction.atomic
def update_course(
    course: Course, *, start: dt.date, end: dt.date | None, stop_reason: str
) -> Course:
    """Correct a course's dates; dose steps must still lie within it."""
    given, course = course, _locked_course(course)
    patient = course.patient
    _check_course_dates(patient, start, end, course)
    _check_stop_reason(end, stop_reason)
    steps = list(course.dose_steps.order_by("date"))
    old_start = course.start
    for step in steps:
        moved_first = step.date == old_start
        date = start if moved_first else step.date
        if date < start or (end is not None and date > end):
            raise ValidationError(
                {"start" if date < start else "end":
                 f"The dose step of {step.date.isoformat()} would fall outside the course."}
            )
    # The starting dose moves with the start date.
    if steps and steps[0].date == old_start and start != old_start:
        if any(s.date == start for s in steps[1:]):
            raise ValidationError({"start": "A later dose step is already on that date."})
        steps[0].date = start
        steps[0].save()
    course.start, course.end, course.stop_reason = start, end, stop_reason
    course.save()
    given.start, given.end, given.stop_reason = start, end, stop_reason
    return course


@transaction.atomic
def delete_course(course: Course) -> None:
    _lock_patient(course.patient)
    course.delete()


# -- visits ---------------------------------------------------------------------


def _check_labs(labs: Sequence[LabInput]) -> None:
    errors: dict[str, str] = {}
    for index, lab in enumerate(labs):
        where = f"labs[{index}]"
        if lab.test not in LabTest.values:
            errors[f"{where}.test"] = f"Unknown lab test {lab.test!r}."
        elif lab.test == LabTest.PREGNANCY:
            if lab.result not in PregnancyResult.values:
                errors[f"{where}.result"] = "A pregnancy test is negative or positive."
        elif lab.value is None:
            errors[f"{where}.value"] = "Enter the result as a number."
        elif lab.value < 0:
            errors[f"{where}.value"] = "A lab value cannot be negative."
    if errors:
        raise ValidationError(errors)


def _check_events(events: Sequence[AdverseEventInput]) -> None:
    errors: dict[str, str] = {}
    for index, event in enumerate(events):
        if not event.term.strip():
            errors[f"adverse_events[{index}].term"] = "Name the adverse event (CTCAE term)."
        if not isinstance(event.grade, int) or not 1 <= event.grade <= 5:
            errors[f"adverse_events[{index}].grade"] = "The CTCAE grade is 1 to 5."
    if errors:
        raise ValidationError(errors)


def _check_visit_date(patient: Patient, date: dt.date, visit: Visit | None) -> None:
    if implausible(date):
        raise ValidationError({"date": implausible(date)})
    if date > _today():
        raise ValidationError({"date": "The visit date is in the future."})
    clash = Visit.objects.filter(patient=patient, date=date)
    if visit is not None:
        clash = clash.exclude(pk=visit.pk)
    if clash.exists():
        raise ValidationError({"date": f"{patient.code} already has a visit on {date.isoformat()}."})


def _check_visit(
    patient: Patient,
    date: dt.date,
    visit: Visit | None,
    labs: Sequence[LabInput],
    events: Sequence[AdverseEventInput],
) -> None:
    """Everything refused before a visit is written, so nothing is half-written."""
    _check_visit_date(patient, date, visit)
    _check_labs(labs)
    _check_events(events)


def _write_visit_children(visit: Visit, exam, labs: Iterable[LabInput], events: Iterable[AdverseEventInput]):
    from scoring.services import remove_assessment, save_assessment

    if exam is None:
        remove_assessment(visit)
    else:
        save_assessment(visit, exam)
    visit.labs.all().delete()
    visit.adverse_events.all().delete()
    # One create per row, not bulk_create: the audit trail hooks on save signals.
    for lab in labs:
        LabResult.objects.create(
            visit=visit, test=lab.test, value=lab.value, result=lab.result, unit=lab.unit
        )
    for event in events:
        AdverseEvent.objects.create(visit=visit, term=event.term.strip(), grade=event.grade)


@transaction.atomic
def record_visit(
    patient: Patient,
    *,
    date: dt.date,
    clinician=None,
    note: str = "",
    exam=None,
    labs: Sequence[LabInput] = (),
    adverse_events: Sequence[AdverseEventInput] = (),
) -> Visit:
    """A visit with its CLASI examination, labs and adverse events, all or nothing."""
    patient = _lock_patient(patient)
    _check_visit(patient, date, None, labs, adverse_events)
    try:
        with transaction.atomic():
            visit = Visit.objects.create(patient=patient, date=date, clinician=clinician, note=note)
    except IntegrityError:
        raise ValidationError({"date": f"{patient.code} already has a visit on {date.isoformat()}."})
    _write_visit_children(visit, exam, labs, adverse_events)
    return visit


@transaction.atomic
def update_visit(
    visit: Visit,
    *,
    date: dt.date,
    clinician=None,
    note: str = "",
    exam=None,
    labs: Sequence[LabInput] = (),
    adverse_events: Sequence[AdverseEventInput] = (),
) -> Visit:
    """Replace what the visit records; the totals are rescored from the items."""
    _lock_patient(visit.patient)
    _check_visit(visit.patient, date, visit, labs, adverse_events)
    visit.date, visit.clinician, visit.note = date, clinician, note
    visit.save()
    _write_visit_children(visit, exam, labs, adverse_events)
    return visit


@transaction.atomic
def delete_visit(visit: Visit) -> None:
    _lock_patient(visit.patient)
    visit.delete()


@transaction.atomic
def erase_patient(patient: Patient, *, typed_code: str) -> dict[str, int]:
    """Delete a patient's whole record (right to erasure), confirmed by the
    patient's code typed in full. The audit keeps one entry: who, when, the
    code and how many records went, and no clinical content; the deletions
    of the record's rows are not logged one by one (they would be content),
    and earlier entries about the patient are redacted (audit.services)."""
    from auditlog.context import disable_auditlog

    from audit.models import Event
    from audit.services import log_event, redact_patient

    if typed_code.strip() != patient.code:
        raise ValidationError({"typed_code": f"Type the patient's code, {patient.code}, to confirm."})
    patient = _lock_patient(patient)
    pk, code = patient.pk, patient.code
    erased = {"visits": patient.visits.count(), "courses": patient.courses.count()}
    with disable_auditlog():
        patient.delete()
    # What earlier entries said about the record (names, notes, values) goes too.
    redacted = redact_patient(pk)
    log_event(Event.ERASURE, Patient(pk=pk), repr=code,
              data={"patient": str(pk), "code": code, "erased": erased, "redacted_entries": redacted})
    return erased
