"""Every write to the clinical record, and every rule of the record.

Each write is one transaction and enforces the rules a database constraint
cannot say (courses of one drug, or of lenalidomide and thalidomide, never
overlap; dose steps and interruptions lie within their course; nothing is
dated before the patient's birth or after today). Errors are
`ValidationError`s keyed by the field they concern, so a form can show them
next to that field.

The rules themselves are the plain functions under "record rules": the
importer calls the same ones in bulk, so each rule is written once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import EllipsisType
from typing import Protocol

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import batched_entries
from clinic.models import Clinic
from clinical import ctcae, labs as labs_table
from clinical.drugs import registry as drug_registry
from clinical.drugs.profile import FREQUENCIES
from patients.concurrency import bump, check_version, lock_current, touch, writes_patient
from patients.dates import implausible
from patients.models import (
    AE_OTHER,
    AdverseEvent,
    AeAction,
    AeAttribution,
    CleSubtype,
    Course,
    DoseStep,
    Drug,
    Interruption,
    LabResult,
    Patient,
    StopReason,
    Visit,
)

PATIENT_FIELDS = (
    "code", "name", "sex", "birth_date", "cle_subtypes", "sle", "sle_diagnosed",
    "reproductive_potential", "note",
    # Thrombosis and neuropathy history (clasi.md 5.4): None / blank is unknown.
    "history_vte", "history_antiphospholipid", "history_oestrogen_contraception",
    "history_thalidomide_neuropathy", "history_note",
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
    term_other: str = ""  # the words of an event whose term is "other"
    attribution: str = ""  # AeAttribution, "" not recorded
    action: str = ""  # AeAction, "" not recorded


def _today() -> dt.date:
    return timezone.localdate()


def _lock_patient(patient: Patient) -> Patient:
    """Serialise writes to one patient's courses and visits (PostgreSQL row lock),
    so two clinicians cannot create overlapping courses at the same moment.

    The patient as it is now; RecordGone if it was deleted meanwhile."""
    return lock_current(Patient, patient.pk)


# -- record rules on plain rows ------------------------------------------------
#
# Each rule of the record is ONE function below, on plain values (dates,
# Decimals, strings, rows with attributes). The services call them for one
# row after reading what they need under the patient's lock; the importer
# (patients/exchange/importer.py) calls the same functions for a whole parsed
# document without a query per row, and turns each Problem's field into the
# document's path. Messages start in lower case and name the values, so they
# read well both after a path (`patients[0].visits[2].date: ...`) and, as a
# sentence, next to a form field.


@dataclass(frozen=True)
class Problem:
    """One broken rule: the field it concerns and what is wrong.

    `index` says which row of a list the problem is in (an interruption of a
    course), None when it is the row being checked itself.
    """

    field: str
    message: str
    index: int | None = None


class Span(Protocol):
    start: dt.date
    end: dt.date | None


class CourseRow(Span, Protocol):
    drug: str
    drug_name: str


@dataclass(frozen=True)
class PlainCourse:
    """A course as plain values, for checking a course before it exists."""

    drug: str
    drug_name: str
    start: dt.date
    end: dt.date | None


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def raise_problems(problems: Iterable[Problem | None]) -> None:
    """Refuse with every problem found, each next to its field (first one per field)."""
    errors: dict[str, str] = {}
    for problem in problems:
        if problem is not None and problem.field not in errors:
            errors[problem.field] = _sentence(problem.message)
    if errors:
        raise ValidationError(errors)


def drug_label(drug: str, drug_name: str = "") -> str:
    """The drug as a sentence names it: the registry's label in lower case, or the typed name."""
    if drug == "other":
        return drug_name or "other drug"
    try:
        return drug_registry.get(drug).label.lower()
    except drug_registry.UnknownDrug:
        return drug


def drug_problems(drug: str, drug_name: str) -> list[Problem]:
    """The drug is one of the registry's; `other` needs its name, the others none."""
    try:
        profile = drug_registry.get(drug)
    except drug_registry.UnknownDrug:
        return [Problem("drug", f"{drug!r} is not a drug of the record; use one of "
                                f"{', '.join(drug_registry.DRUGS)}")]
    name = (drug_name or "").strip()
    if profile.needs_name and not name:
        return [Problem("drug_name", "name the drug (the drug is 'other')")]
    if not profile.needs_name and name:
        return [Problem("drug_name", f"a drug name is only given for 'other', not for {profile.label}")]
    return []


def dose_problems(drug: str, mg: Decimal | None, every_days: int | None) -> list[Problem]:
    """A single dose within the drug's plausible range, at one of the record's frequencies."""
    problems: list[Problem] = []
    if mg is None:
        problems.append(Problem("mg", "enter the dose in mg"))
    else:
        try:
            profile = drug_registry.get(drug)
        except drug_registry.UnknownDrug:
            profile = None
        message = profile.dose_problem(mg) if profile else (None if mg > 0 else "must be more than 0 mg")
        if message:
            problems.append(Problem("mg", message if message[0].isdigit() else f"the dose {message}"))
    if every_days not in FREQUENCIES:
        allowed = ", ".join(f"{days} ({name})" for days, name in FREQUENCIES.items())
        problems.append(Problem("every_days", f"every {every_days} days is not a frequency of the "
                                              f"record; use every {allowed}"))
    return problems


def life_problem(day: dt.date | None, *, field: str, what: str, birth: dt.date | None,
                 today: dt.date) -> Problem | None:
    """A day of the record lies within the patient's life: a plausible year,
    not before birth, never after today (the clinic's today)."""
    if day is None:
        return None
    message = implausible(day)
    if message:
        return Problem(field, message[:1].lower() + message[1:])
    if birth is not None and day < birth:
        return Problem(field, f"the {what} {day.isoformat()} is before the birth date "
                              f"({birth.isoformat()})")
    if day > today:
        return Problem(field, f"the {what} {day.isoformat()} is in the future "
                              f"(today is {today.isoformat()})")
    return None


def span_problem(start: dt.date, end: dt.date | None, *, what: str = "withdrawal") -> Problem | None:
    if end is not None and end < start:
        return Problem("end", f"the {what} {end.isoformat()} is before the start {start.isoformat()}")
    return None


def _overlap(a: Span, b: Span) -> bool:
    return a.start <= (b.end or dt.date.max) and b.start <= (a.end or dt.date.max)


def _same_drug(a: CourseRow, b: CourseRow) -> bool:
    if a.drug != b.drug:
        return False
    return a.drug != "other" or a.drug_name.strip().casefold() == b.drug_name.strip().casefold()


def _exclusive(a: CourseRow, b: CourseRow) -> bool:
    groups = []
    for row in (a, b):
        try:
            groups.append(drug_registry.get(row.drug).exclusive_group)
        except drug_registry.UnknownDrug:
            groups.append(None)
    return groups[0] is not None and groups[0] == groups[1]


def course_clash(course: CourseRow, others: Iterable[CourseRow]) -> CourseRow | None:
    """The first of `others` that `course` may not share a day with: a course of
    the same drug, or of a drug of the same exclusive group (lenalidomide and
    thalidomide). Other drugs may run alongside."""
    for other in others:
        if other is not course and (_same_drug(course, other) or _exclusive(course, other)) \
                and _overlap(course, other):
            return other
    return None


def clash_message(course: CourseRow, other: CourseRow) -> str:
    running = "still running" if other.end is None else f"until {other.end.isoformat()}"
    label = drug_label(other.drug, other.drug_name)
    if _same_drug(course, other):
        why = f"a patient takes one {label} course at a time"
    else:
        why = (f"{drug_label(course.drug, course.drug_name)} and {label} are never taken together")
    return f"this overlaps the {label} course from {other.start.isoformat()} ({running}); {why}"


def step_problem(day: dt.date, start: dt.date, end: dt.date | None, field: str = "date") -> Problem | None:
    """A dose step lies within its course."""
    if day < start:
        return Problem(field, f"the dose step {day.isoformat()} is before the course start "
                              f"({start.isoformat()})")
    if end is not None and day > end:
        return Problem(field, f"the dose step {day.isoformat()} is after the withdrawal "
                              f"({end.isoformat()})")
    return None


def interruption_problems(start: dt.date, end: dt.date | None,
                          interruptions: Sequence[Span]) -> list[Problem]:
    """Interruptions of a course ([start, end]) in date order: each inside the
    course, none overlapping the one before, an open one (still on hold) only
    as the last. The problem's index is the interruption's place in the list."""
    problems: list[Problem] = []
    previous: Span | None = None
    for i, hold in enumerate(interruptions):
        until = end.isoformat() if end else "still running"
        if hold.start < start or (end is not None and hold.start > end):
            problems.append(Problem("start", f"the interruption from {hold.start.isoformat()} is "
                                             f"outside its course ({start.isoformat()} to {until})", i))
        elif hold.end is not None and hold.end < hold.start:
            problems.append(Problem("end", f"the resumption {hold.end.isoformat()} is before the "
                                           f"interruption's start {hold.start.isoformat()}", i))
        elif hold.end is not None and end is not None and hold.end > end:
            problems.append(Problem("end", f"the resumption {hold.end.isoformat()} is after the "
                                           f"course's withdrawal ({end.isoformat()})", i))
        elif previous is not None and previous.end is None:
            problems.append(Problem("start", f"the interruption from {previous.start.isoformat()} is "
                                             "still on hold; record its resumption first", i))
        elif previous is not None and hold.start <= previous.end:
            problems.append(Problem("start", f"this overlaps the interruption from "
                                             f"{previous.start.isoformat()} to {previous.end.isoformat()}", i))
        previous = hold
    return problems


def lab_problem(test: str, value: Decimal | None, result: str, unit: str) -> tuple[Problem | None, str]:
    """A lab row: a known test, a value (or the pregnancy result), a unit of the
    test's list (clasi.md 5.5). Returns the problem and the unit as the list spells it."""
    if test not in labs_table.LABS:
        return Problem("test", f"{test!r} is not a lab test of the record"), unit
    lab = labs_table.get(test)
    if not lab.numeric:
        if result not in lab.results:
            return Problem("result", f"a {lab.label.lower()} is {' or '.join(lab.results)}"), unit
        return None, ""
    if result:
        # "positive" belongs to the pregnancy test only; a count is a number.
        return Problem("result", f"{lab.label} takes a number, not {result!r}"), unit
    if value is None:
        return Problem("value", "enter the result as a number"), unit
    if value < 0:
        return Problem("value", "a lab value cannot be negative"), unit
    try:
        listed = labs_table.normalise_unit(test, unit)
    except labs_table.UnknownUnit as error:
        return Problem("unit", str(error)), unit
    # A value no patient can have is a slip of the keyboard or of the unit (clasi.md 5.5).
    absurd = labs_table.implausible(test, labs_table.canonical_value(test, value, listed))
    if absurd is not None:
        return Problem("value", absurd), unit
    return None, listed


def patient_problems(fields: dict, *, today: dt.date) -> list[Problem]:
    """The patient's own fields: subtypes, birth and SLE diagnosis dates."""
    problems: list[Problem] = []
    subtypes = fields.get("cle_subtypes") or []
    unknown = [s for s in subtypes if s not in CleSubtype.values]
    if unknown:
        problems.append(Problem("cle_subtypes", f"unknown CLE subtype: {', '.join(map(str, unknown))}"))
    elif len(set(subtypes)) != len(subtypes):
        problems.append(Problem("cle_subtypes", "a CLE subtype is listed twice"))
    birth = fields.get("birth_date")
    diagnosed = fields.get("sle_diagnosed")
    birth_problem = life_problem(birth, field="birth_date", what="birth date", birth=None, today=today)
    if birth_problem:
        problems.append(birth_problem)
        birth = None
    diagnosis_problem = life_problem(diagnosed, field="sle_diagnosed", what="SLE diagnosis date",
                                     birth=birth, today=today)
    if diagnosis_problem:
        problems.append(diagnosis_problem)
    elif diagnosed and not fields.get("sle"):
        problems.append(Problem("sle_diagnosed", "a diagnosis date needs SLE to be ticked"))
    return problems


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
    for problem in patient_problems(fields, today=_today()):
        errors.setdefault(problem.field, _sentence(problem.message))
    birth = fields.get("birth_date")
    if instance is not None and birth is not None and "birth_date" not in errors:
        first = _first_recorded_day(instance)
        if first is not None and first < birth:
            errors["birth_date"] = (f"The record holds {first.isoformat()}, before this birth date; "
                                    "correct that date first.")
    if errors:
        raise ValidationError(errors)


def _first_recorded_day(patient: Patient) -> dt.date | None:
    """The earliest visit or course start of the patient (two queries)."""
    days = [
        Visit.objects.filter(patient=patient).order_by("date").values_list("date", flat=True).first(),
        Course.objects.filter(patient=patient).order_by("start").values_list("start", flat=True).first(),
    ]
    return min((d for d in days if d is not None), default=None)


def _patient_values(fields: dict) -> dict:
    values = {key: fields[key] for key in PATIENT_FIELDS if key in fields}
    values["code"] = (values.get("code") or "").strip()
    # Subtypes keep the vocabulary's order, so equal sets compare equal.
    values["cle_subtypes"] = [s for s in CleSubtype.values if s in (values.get("cle_subtypes") or [])]
    return values


@writes_patient
def create_patient(clinic: Clinic, **fields) -> Patient:
    _check_patient(fields, clinic=clinic, instance=None)
    patient = Patient(clinic=clinic, **_patient_values(fields))
    patient.full_clean(exclude=["clinic"])
    try:
        with transaction.atomic():  # a savepoint: the IntegrityError leaves the outer one usable
            patient.save()
    except IntegrityError:
        # The code check above passed, so another clinician created the same
        # code at the same moment: the unique constraint refused the second one.
        if not Patient.objects.filter(clinic=clinic, code=patient.code).exists():
            raise
        message = f"Another patient of {clinic.name} was just added with the code {patient.code}."
        raise ValidationError({"code": message}) from None
    touch(patient.pk)  # its derived state row is written with it (writes_patient)
    return patient


@writes_patient
def update_patient(patient: Patient, *, version: int | None = None, **fields) -> Patient:
    """Change the patient's own fields; `version` is the one the edit form was read at."""
    current = _lock_patient(patient)
    check_version(current, version)
    merged = {key: getattr(current, key) for key in PATIENT_FIELDS} | fields
    _check_patient(merged, clinic=current.clinic, instance=current)
    for key, value in _patient_values(merged).items():
        setattr(current, key, value)
    current.full_clean(exclude=["clinic"])
    bump(current)
    current.save(force_update=True)
    return current


# -- courses, dose steps and interruptions -------------------------------------


def _sibling_courses(patient: Patient, exclude: Course | None) -> list[Course]:
    """The patient's other courses (one query), read under the patient's lock."""
    others = Course.objects.filter(patient=patient)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    return list(others.only("id", "drug", "drug_name", "start", "end"))


def _course_problems(patient: Patient, row: CourseRow, course: Course | None,
                     today: dt.date) -> list[Problem]:
    """Every rule of a course's own fields: drug, dates within the patient's
    life, the withdrawal after the start, no clash with another course."""
    birth = patient.birth_date
    problems = [
        *drug_problems(row.drug, row.drug_name),
        life_problem(row.start, field="start", what="course start", birth=birth, today=today),
        life_problem(row.end, field="end", what="withdrawal", birth=birth, today=today),
        span_problem(row.start, row.end),
    ]
    if any(problems):
        return [p for p in problems if p]
    other = course_clash(row, _sibling_courses(patient, course))
    if other is not None:
        field = "start" if course is None or course.start != row.start else "end"
        return [Problem(field, clash_message(row, other))]
    return []


def _check_stop_reason(end: dt.date | None, stop_reason: str) -> None:
    if stop_reason and stop_reason not in StopReason.values:
        raise ValidationError({"stop_reason": f"Unknown stop reason {stop_reason!r}."})
    if end is None and stop_reason:
        raise ValidationError({"stop_reason": "A course still running has no stop reason."})


@writes_patient
def start_course(
    patient: Patient,
    *,
    start: dt.date,
    mg: Decimal,
    every_days: int = 1,
    drug: str = Drug.LENALIDOMIDE,
    drug_name: str = "",
    end: dt.date | None = None,
    stop_reason: str = "",
) -> Course:
    """Start a course of a registry drug with its first dose step on the start date."""
    patient = _lock_patient(patient)
    drug_name = (drug_name or "").strip()
    row = PlainCourse(drug, drug_name, start, end)
    problems = drug_problems(drug, drug_name)
    raise_problems([*problems, *([] if problems else dose_problems(drug, mg, every_days))])
    raise_problems(_course_problems(patient, row, None, _today()))
    _check_stop_reason(end, stop_reason)
    course = Course.objects.create(
        patient=patient, drug=drug, drug_name=drug_name, start=start, end=end,
        stop_reason=stop_reason,
    )
    DoseStep.objects.create(course=course, date=start, mg=mg, every_days=every_days)
    return course


def _locked_course(course: Course) -> Course:
    """The course as it is now, read under the patient's lock.

    Checking the copy a view loaded earlier could pass on stale data: two
    clinicians (or two tabs) withdrawing and changing the dose at once would
    leave a dose step after the withdrawal.
    """
    _lock_patient(course.patient)
    return lock_current(Course.objects.select_related("patient"), course.pk)


def _locked_step(step: DoseStep) -> DoseStep:
    _lock_patient(step.course.patient)
    return lock_current(DoseStep.objects.select_related("course__patient"), step.pk)


def _step_problems(course: Course, day: dt.date, mg: Decimal | None, every_days: int | None) -> list[Problem]:
    life = life_problem(day, field="date", what="dose step", birth=course.patient.birth_date,
                        today=_today())
    return [p for p in (life or step_problem(day, course.start, course.end),
                        *dose_problems(course.drug, mg, every_days)) if p]


@writes_patient
def add_dose_step(
    course: Course, *, date: dt.date, mg: Decimal, every_days: int = 1, version: int | None = None
) -> DoseStep:
    """A dose change from `date` on: increase, reduction (taper) or alternate days.

    The course's version covers its dose steps: a dose decided on a stale view
    of the schedule is refused like any other stale edit."""
    course = _locked_course(course)
    check_version(course, version)
    raise_problems(_step_problems(course, date, mg, every_days))
    if DoseStep.objects.filter(course=course, date=date).exists():
        raise ValidationError({"date": f"The course already has a dose step on {date.isoformat()}."})
    bump(course, save=True)
    return DoseStep.objects.create(course=course, date=date, mg=mg, every_days=every_days)


@writes_patient
def update_dose_step(
    step: DoseStep, *, date: dt.date, mg: Decimal, every_days: int, version: int | None = None
) -> DoseStep:
    """Correct a dose step; the first one (the starting dose) keeps the course's start date.

    `version` is its course's (which covers its dose steps)."""
    step = _locked_step(step)
    course = step.course
    check_version(course, version)
    if step.date == course.start and date != course.start:
        raise ValidationError({"date": "The first dose step stays on the course start date; "
                                       "correct the course's start instead."})
    raise_problems(_step_problems(course, date, mg, every_days))
    if date != step.date and DoseStep.objects.filter(course=course, date=date).exists():
        raise ValidationError({"date": f"The course already has a dose step on {date.isoformat()}."})
    step.date, step.mg, step.every_days = date, mg, every_days
    step.save(force_update=True)
    bump(course, save=True)
    return step


@writes_patient
def remove_dose_step(step: DoseStep) -> None:
    step = _locked_step(step)
    course = step.course
    if step.date == course.start:
        raise ValidationError({"date": "The starting dose cannot be removed; delete the course instead."})
    bump(course, save=True)
    step.delete()


def _holds_problem(course: Course, start: dt.date, end: dt.date | None) -> Problem | None:
    """The course's interruptions must still lie within [start, end]."""
    holds = list(course.interruptions.order_by("start"))
    for problem in interruption_problems(start, end, holds):
        hold = holds[problem.index]
        field = "start" if hold.start < start else "end"
        return Problem(field, f"the interruption from {hold.start.isoformat()} would fall outside "
                              "the course")
    return None


@writes_patient
def withdraw(
    course: Course, *, end: dt.date, stop_reason: str, version: int | None = None
) -> Course:
    """Record the withdrawal of the drug: the course ends on `end`."""
    given, course = course, _locked_course(course)
    check_version(course, version)
    patient = course.patient
    label = course.drug_label
    if course.end is not None:
        raise ValidationError({"end": f"This course was already withdrawn on {course.end.isoformat()}."})
    if not stop_reason:
        raise ValidationError({"stop_reason": f"Give the reason {label} was stopped."})
    _check_stop_reason(end, stop_reason)
    raise_problems(_course_problems(patient, PlainCourse(course.drug, course.drug_name, course.start, end),
                                    course, _today()))
    last_step = course.dose_steps.order_by("-date").first()
    if last_step is not None and last_step.date > end:
        raise ValidationError(
            {"end": f"A dose step on {last_step.date.isoformat()} comes after this withdrawal date."}
        )
    raise_problems([_holds_problem(course, course.start, end)])
    course.end, course.stop_reason = end, stop_reason
    bump(course)
    course.save(force_update=True)
    given.end, given.stop_reason = end, stop_reason  # the caller's copy stays true
    given.version = course.version
    return course


@writes_patient
def update_course(
    course: Course,
    *,
    start: dt.date,
    end: dt.date | None,
    stop_reason: str,
    version: int | None = None,
) -> Course:
    """Correct a course's dates; dose steps and interruptions must still lie within it."""
    given, course = course, _locked_course(course)
    check_version(course, version)
    patient = course.patient
    raise_problems(_course_problems(patient, PlainCourse(course.drug, course.drug_name, start, end),
                                    course, _today()))
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
    raise_problems([_holds_problem(course, start, end)])
    # The starting dose moves with the start date.
    if steps and steps[0].date == old_start and start != old_start:
        if any(s.date == start for s in steps[1:]):
            raise ValidationError({"start": "A later dose step is already on that date."})
        steps[0].date = start
        steps[0].save(force_update=True)
    course.start, course.end, course.stop_reason = start, end, stop_reason
    bump(course)
    course.save(force_update=True)
    given.start, given.end, given.stop_reason = start, end, stop_reason
    given.version = course.version
    return course


@writes_patient
def delete_course(course: Course) -> None:
    """RecordGone when someone else deleted it first (no 500, nothing else deleted)."""
    _lock_patient(course.patient)
    lock_current(Course, course.pk).delete()


def _locked_interruption(hold: Interruption) -> Interruption:
    """The interruption as it is now, under the patient's lock; RecordGone if deleted."""
    _lock_patient(hold.course.patient)
    return lock_current(Interruption.objects.select_related("course__patient"), hold.pk)


def _check_holds(course: Course, hold: Interruption | PlainSpan, others: list[Interruption]) -> None:
    """`hold` among the course's other interruptions: inside the course, not
    overlapping, an open one only as the last; never in the future."""
    today, birth = _today(), course.patient.birth_date
    raise_problems([
        life_problem(hold.start, field="start", what="interruption", birth=birth, today=today),
        life_problem(hold.end, field="end", what="resumption", birth=birth, today=today),
        span_problem(hold.start, hold.end, what="resumption"),
    ])
    holds = sorted([*others, hold], key=lambda h: h.start)
    for problem in interruption_problems(course.start, course.end, holds):
        culprit = holds[problem.index]
        if culprit is hold:
            raise_problems([Problem(problem.field, problem.message)])
        # The rule broke at the interruption after this one: this one overlaps it.
        if problem.index > 0 and holds[problem.index - 1] is hold:
            field = "end" if hold.end is not None else "start"
            message = (f"this overlaps the interruption from {culprit.start.isoformat()}"
                       if hold.end is not None else
                       f"an interruption still on hold must be the last; the course has one from "
                       f"{culprit.start.isoformat()}")
            raise_problems([Problem(field, message)])
        raise_problems([Problem(problem.field, problem.message)])


@dataclass(frozen=True)
class PlainSpan:
    start: dt.date
    end: dt.date | None


@writes_patient
def add_interruption(course: Course, *, start: dt.date, end: dt.date | None = None,
                     reason: str = "", version: int | None = None) -> Interruption:
    """A hold within the course (e.g. for neutropenia); `end` is the resumption, None while on hold.

    The course's version covers its interruptions, as it covers its dose steps."""
    course = _locked_course(course)
    check_version(course, version)
    span = PlainSpan(start, end)
    _check_holds(course, span, list(course.interruptions.order_by("start")))
    bump(course, save=True)  # the course's version covers its holds, like its dose steps
    return Interruption.objects.create(course=course, start=start, end=end, reason=reason.strip())


@writes_patient
def update_interruption(hold: Interruption, *, start: dt.date, end: dt.date | None,
                        reason: str = "", version: int | None = None) -> Interruption:
    given, hold = hold, _locked_interruption(hold)
    course = hold.course
    check_version(course, version)
    others = list(course.interruptions.exclude(pk=hold.pk).order_by("start"))
    _check_holds(course, PlainSpan(start, end), others)
    hold.start, hold.end, hold.reason = start, end, reason.strip()
    hold.save(force_update=True)
    bump(course, save=True)
    given.start, given.end, given.reason = hold.start, hold.end, hold.reason
    return hold


@writes_patient
def end_interruption(hold: Interruption, *, end: dt.date, version: int | None = None) -> Interruption:
    """The drug resumed on `end`."""
    current = _locked_interruption(hold)
    if current.end is not None:
        raise ValidationError({"end": f"This interruption already ended on {current.end.isoformat()}."})
    return update_interruption(
        current, start=current.start, end=end, reason=current.reason, version=version
    )


@writes_patient
def remove_interruption(hold: Interruption) -> None:
    current = _locked_interruption(hold)
    bump(current.course, save=True)
    current.delete()


# -- visits ---------------------------------------------------------------------


def _check_labs(labs: Sequence[LabInput]) -> list[LabInput]:
    """The labs as the record stores them (units as the test's list spells them),
    or every problem keyed `labs[i].field`."""
    errors: dict[str, str] = {}
    checked: list[LabInput] = []
    for index, lab in enumerate(labs):
        problem, unit = lab_problem(lab.test, lab.value, lab.result, lab.unit)
        if problem is not None:
            errors[f"labs[{index}].{problem.field}"] = _sentence(problem.message)
        checked.append(LabInput(test=lab.test, value=lab.value, result=lab.result, unit=unit))
    if errors:
        raise ValidationError(errors)
    return checked


def weight_problem(weight_kg: Decimal | None) -> Problem | None:
    """A weight a scale could show (Cockcroft-Gault reads it: clasi.md 5.3)."""
    if weight_kg is not None and not (WEIGHT_KG[0] <= weight_kg <= WEIGHT_KG[1]):
        return Problem("weight_kg", f"{format(weight_kg.normalize(), 'f')} kg is not a plausible weight "
                                    f"({WEIGHT_KG[0]}-{WEIGHT_KG[1]} kg)")
    return None


WEIGHT_KG = (Decimal(1), Decimal(400))


def _check_events(events: Sequence[AdverseEventInput]) -> None:
    errors: dict[str, str] = {}
    for index, event in enumerate(events):
        for name, message in ae_problems(event):
            errors.setdefault(f"adverse_events[{index}].{name}", message)
    if errors:
        raise ValidationError(errors)


def not_a_ctcae_term(term: str) -> str:
    """clasi.md 5.4: the term from the CTCAE list, free text only as "other" (the form
    and the import say it alike)."""
    return (f"“{term[:60]}” is not a CTCAE v5 term: pick one from the list, "
            "or “other” with its words.")


def ae_problems(event: AdverseEventInput) -> list[tuple[str, str]]:
    """An adverse event's own rules (clasi.md 5.4): a term ("other" with its words),
    grade 1-5, attribution and action from their lists when given."""
    problems = []
    term = event.term.strip()
    if not term:
        problems.append(("term", "Name the adverse event (CTCAE term)."))
    elif term == AE_OTHER:
        if not event.term_other.strip():
            problems.append(("term_other", "Describe the event: “other” needs its words."))
    elif ctcae.lookup(term) is None:
        problems.append(("term", not_a_ctcae_term(term)))
    if isinstance(event.grade, bool) or not isinstance(event.grade, int) or not 1 <= event.grade <= 5:
        problems.append(("grade", "The CTCAE grade is 1 to 5."))
    if event.attribution and event.attribution not in AeAttribution.values:
        problems.append(("attribution", f"Attribution is one of {', '.join(AeAttribution.values)}."))
    if event.action and event.action not in AeAction.values:
        problems.append(("action", f"Action taken is one of {', '.join(AeAction.values)}."))
    return problems


def _check_visit_date(patient: Patient, date: dt.date, visit: Visit | None) -> None:
    raise_problems([life_problem(date, field="date", what="visit date", birth=patient.birth_date,
                                 today=_today())])
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
    weight_kg: Decimal | None = None,
) -> list[LabInput]:
    """Everything refused before a visit is written, so nothing is half-written;
    returns the labs as stored."""
    _check_visit_date(patient, date, visit)
    raise_problems([weight_problem(weight_kg)])
    checked = _check_labs(labs)
    _check_events(events)
    return checked


def _write_visit_children(visit: Visit, exam, labs: Iterable[LabInput], events: Iterable[AdverseEventInput],
                          *, new: bool = False):
    """The visit's assessment, labs and adverse events; `new`: the visit was just
    created, so there is nothing of it to replace."""
    from auditlog.receivers import log_create

    from scoring.services import remove_assessment, save_assessment

    if exam is None:
        if not new:
            remove_assessment(visit)
    else:
        save_assessment(visit, exam, new=new)
    if not new:
        visit.labs.all().delete()
        visit.adverse_events.all().delete()
    # One INSERT per table. bulk_create sends no save signal, so each row's
    # audit entry is made here by django-auditlog's own receiver (the same
    # entry a save would make); batched_entries() writes them together.
    rows = LabResult.objects.bulk_create(
        LabResult(visit=visit, test=lab.test, value=lab.value, result=lab.result, unit=lab.unit)
        for lab in labs
    )
    rows += AdverseEvent.objects.bulk_create(
        AdverseEvent(
            visit=visit, term=event.term.strip(), grade=event.grade,
            term_other=event.term_other.strip() if event.term.strip() == AE_OTHER else "",
            attribution=event.attribution, action=event.action,
        )
        for event in events
    )
    for row in rows:
        log_create(sender=type(row), instance=row, created=True)


@writes_patient
def record_visit(
    patient: Patient,
    *,
    date: dt.date,
    clinician=None,
    note: str = "",
    exam=None,
    labs: Sequence[LabInput] = (),
    adverse_events: Sequence[AdverseEventInput] = (),
    weight_kg: Decimal | None = None,
) -> Visit:
    """A visit with its CLASI examination, labs and adverse events, all or nothing."""
    patient = _lock_patient(patient)
    labs = _check_visit(patient, date, None, labs, adverse_events, weight_kg)
    with batched_entries():
        try:
            with transaction.atomic():
                visit = Visit.objects.create(patient=patient, date=date, clinician=clinician, note=note,
                                             weight_kg=weight_kg)
        except IntegrityError:
            raise ValidationError({"date": f"{patient.code} already has a visit on {date.isoformat()}."})
        _write_visit_children(visit, exam, labs, adverse_events, new=True)
    return visit


@writes_patient
def update_visit(
    visit: Visit,
    *,
    date: dt.date,
    clinician=None,
    note: str = "",
    exam=None,
    labs: Sequence[LabInput] = (),
    adverse_events: Sequence[AdverseEventInput] = (),
    weight_kg: Decimal | None | EllipsisType = ...,
    version: int | None = None,
) -> Visit:
    """Replace what the visit records; the totals are rescored from the items.

    One version covers the visit and everything its form shows (CLASI, labs,
    adverse events, weight): they are only ever written together, here.
    `weight_kg` left out keeps the weight recorded (a form without the field
    must not erase it); None erases it.
    """
    patient = _lock_patient(visit.patient)
    current = lock_current(Visit, visit.pk)
    check_version(current, version)
    if weight_kg is ...:
        weight_kg = current.weight_kg
    labs = _check_visit(patient, date, current, labs, adverse_events, weight_kg)
    current.date, current.clinician, current.note = date, clinician, note
    current.weight_kg = weight_kg
    bump(current)
    with batched_entries():
        current.save(force_update=True)
        _write_visit_children(current, exam, labs, adverse_events)
    return current


@writes_patient
def delete_visit(visit: Visit) -> None:
    """RecordGone when someone else deleted it first (no 500)."""
    from photos.services import discard_visit_files

    _lock_patient(visit.patient)
    current = lock_current(Visit, visit.pk)
    discard_visit_files(current)  # the visit's photograph files go once the delete commits
    current.delete()


@writes_patient
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
    from photos.services import discard_patient_files

    discard_patient_files(patient)  # the photograph files go once the erasure commits
    with disable_auditlog():
        patient.delete()
    # What earlier entries said about the record (names, notes, values) goes too.
    redacted = redact_patient(pk)
    log_event(Event.ERASURE, Patient(pk=pk), repr=code,
              data={"patient": str(pk), "code": code, "erased": erased, "redacted_entries": redacted})
    return erased
