"""The ONE reader of patients' whole records: stored rows -> clinical.record.

Every page, the export, the CSV and the cohort report start here
(architecture.md). `records_for` reads any number of patients in a fixed
number of queries (one per table, values_list rows, no model instances):

- the patients (none when loaded Patient objects are passed),
- courses, dose steps, interruptions,
- labs (with their visit's date),
- with `full=True` (the patient page, the export, the CSV): visits with their
  examination (weight, note, clinician, totals and stored items, one joined
  query) and adverse events;
- with `full=False` (flags, worklists, the report): the assessments' totals
  and the visits that carry a weight (date and kg only), one joined query;
  `adverse_events=True` adds the visits that recorded an adverse event, with
  their events (one query over the events, however many visits there are; no
  note or clinician): what the outcome report reads.
- with `lean=True` (the patient page): the visits and their totals as with
  `full`, but neither the stored examination items (a JSON column decoded per
  visit) nor the adverse events, which that page does not show.

A queryset of patients stays a subquery (no 2,000-element IN list: SQLite
caps parameters).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from clinical.record import (
    AdverseEvent as RecordAdverseEvent,
    Assessment,
    Course,
    DoseStep,
    History,
    Interruption,
    Lab,
    PatientRecord,
    Visit,
)
from patients.models import (
    AdverseEvent as StoredAdverseEvent,
    Course as StoredCourse,
    DoseStep as StoredDoseStep,
    Interruption as StoredInterruption,
    LabResult,
    LabTest,
    Patient,
    Visit as StoredVisit,
)

__all__ = ["PATIENT_FIELDS", "record_for", "records_for"]

PATIENT_FIELDS = (
    "id",
    "code",
    "name",
    "sex",
    "birth_date",
    "cle_subtypes",
    "sle",
    "sle_diagnosed",
    "reproductive_potential",
    "note",
    "history_vte",
    "history_antiphospholipid",
    "history_oestrogen_contraception",
    "history_thalidomide_neuropathy",
    "history_note",
)


# The order each table is read in: the models' own orderings, written with the ids'
# columns. Meta.ordering names the parent (["course", "date"]), and ordering by a
# relation means by ITS ordering: every read joined the course and the patient to
# sort by the patient's code, and the ORM spent a quarter of a record's read
# resolving it. Within one patient, one course or one visit (how the rows are
# grouped below) the order is the same.
IN_ORDER = {
    "dose": ("course_id", "date"),
    "hold": ("course_id", "start"),
    "course": ("patient_id", "start"),
    "visit": ("patient_id", "date"),
    "lab": ("visit__patient_id", "visit__date", "test"),
}


def plain(value: Any) -> Any:
    """A stored Decimal without the column's padding: 30.0000 -> 30, 0.7000 -> 0.7.

    Equal in value; messages and the export read "30", not "30.0000".
    """
    if not isinstance(value, Decimal):
        return value
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal


def records_for(
    patients: QuerySet[Patient] | Iterable[Patient],
    *,
    full: bool = True,
    adverse_events: bool = False,
    lean: bool = False,
) -> dict[Any, PatientRecord]:
    """{patient id: PatientRecord} in a fixed number of queries (see the module doc).

    The dict follows the order of `patients`.
    """

    if isinstance(patients, QuerySet):
        rows = list(patients.values(*PATIENT_FIELDS))
        ids: Any = patients.values("id")
    else:
        rows = [{f: getattr(p, f) for f in PATIENT_FIELDS} for p in patients]
        ids = [row["id"] for row in rows]
    if not rows:
        return {}

    doses: dict = defaultdict(list)
    for pk, course_id, date, mg, every in StoredDoseStep.objects.filter(
        course__patient_id__in=ids
    ).values_list("id", "course_id", "date", "mg", "every_days").order_by(*IN_ORDER["dose"]):
        doses[course_id].append(DoseStep(date, plain(mg), every, str(pk)))

    holds: dict = defaultdict(list)
    for pk, course_id, start, end, reason in StoredInterruption.objects.filter(
        course__patient_id__in=ids
    ).values_list("id", "course_id", "start", "end", "reason").order_by(*IN_ORDER["hold"]):
        holds[course_id].append(Interruption(start, end, reason, str(pk)))

    courses: dict = defaultdict(list)
    for patient_id, pk, drug, name, start, end, reason, version in StoredCourse.objects.filter(
        patient_id__in=ids
    ).values_list(
        "patient_id", "id", "drug", "drug_name", "start", "end", "stop_reason", "version"
    ).order_by(*IN_ORDER["course"]):
        courses[patient_id].append(
            Course(
                str(pk),
                start,
                end,
                reason or None,
                tuple(doses.get(pk, ())),
                drug,
                name,
                tuple(holds.get(pk, ())),
                version,
            )
        )

    assessments: dict = defaultdict(list)
    visits: dict = defaultdict(list)
    if not full:
        # The outcome report: only the visits with an event, read from the events
        # table (a few rows), never the 40,000 visits of a big clinic.
        with_events: dict = {}
        if adverse_events:
            for patient_id, visit_id, date, term, grade in StoredAdverseEvent.objects.filter(
                visit__patient_id__in=ids
            ).values_list("visit__patient_id", "visit_id", "visit__date", "term", "grade").order_by():
                with_events.setdefault(visit_id, (patient_id, date, []))[2].append(
                    RecordAdverseEvent(term, grade)
                )
        # The assessments' totals and the visits' weights (the creatinine clearance of
        # the safety items reads them, clasi.md 5.3) in one query: each visit with an
        # examination or a weight, its examination LEFT JOINed.
        for pk, patient_id, date, weight, activity, damage, instrument in StoredVisit.objects.filter(
            Q(assessment__isnull=False) | Q(weight_kg__isnull=False), patient_id__in=ids
        ).values_list(
            "id", "patient_id", "date", "weight_kg",
            "assessment__activity", "assessment__damage", "assessment__instrument",
        ).order_by(*IN_ORDER["visit"]):
            if weight is not None:
                found = with_events.pop(pk, None)
                visits[patient_id].append(
                    Visit(str(pk), date, plain(weight), adverse_events=_in_order(found))
                )
            if activity is not None:
                assessments[patient_id].append(Assessment(str(pk), date, activity, damage, instrument))
        for pk, found in with_events.items():
            visits[found[0]].append(Visit(str(pk), found[1], adverse_events=_in_order(found)))

    labs: dict = defaultdict(list)
    for patient_id, date, test, value, result, unit in LabResult.objects.filter(
        visit__patient_id__in=ids
    ).values_list("visit__patient_id", "visit__date", "test", "value", "result", "unit").order_by(
        *IN_ORDER["lab"]
    ):
        shown = result if test == LabTest.PREGNANCY else plain(value)
        labs[patient_id].append(Lab(date, test, shown, unit))

    if full:
        events: dict = defaultdict(list)
        for visit_id, term, grade, other, attribution, action in (
            ()
            if lean
            else StoredAdverseEvent.objects.filter(visit__patient_id__in=ids)
            .values_list("visit_id", "term", "grade", "term_other", "attribution", "action")
            .order_by("visit_id", "term", "grade")
        ):
            events[visit_id].append(RecordAdverseEvent(term, grade, other, attribution, action))
        # Each visit with its examination (LEFT JOIN): one query for both.
        for row in StoredVisit.objects.filter(patient_id__in=ids).values_list(
            "id",
            "patient_id",
            "date",
            "weight_kg",
            "note",
            "clinician__username",
            "assessment__activity",
            "assessment__damage",
            "assessment__instrument",
            # Not decoded when lean: a constant None in its place.
            *(() if lean else ("assessment__items",)),
        ).order_by(*IN_ORDER["visit"]):
            pk, patient_id, date, weight, note, clinician, activity, damage, instrument = row[:9]
            items = None if lean else row[9]
            visits[patient_id].append(
                Visit(str(pk), date, plain(weight), note, tuple(events.get(pk, ())), clinician or "")
            )
            if activity is not None:
                assessments[patient_id].append(
                    Assessment(str(pk), date, activity, damage, instrument, items)
                )

    return {
        row["id"]: PatientRecord(
            code=row["code"],
            courses=tuple(courses.get(row["id"], ())),
            assessments=tuple(assessments.get(row["id"], ())),
            labs=tuple(labs.get(row["id"], ())),
            sle_diagnosed=row["sle_diagnosed"],
            sle=row["sle"],
            sex=row["sex"],
            birth_date=row["birth_date"],
            reproductive_potential=row["reproductive_potential"],
            history=History(
                row["history_vte"],
                row["history_antiphospholipid"],
                row["history_oestrogen_contraception"],
                row["history_thalidomide_neuropathy"],
                row["history_note"],
            ),
            visits=tuple(visits.get(row["id"], ())),
            name=row["name"],
            note=row["note"],
            cle_subtypes=tuple(row["cle_subtypes"] or ()),
            id=str(row["id"]),
        )
        for row in rows
    }


def _in_order(found: tuple | None) -> tuple:
    """A visit's adverse events (the report's read) in a fixed order; () for none."""
    return tuple(sorted(found[2], key=lambda e: (e.term, e.grade))) if found else ()


def record_for(patient: Patient, *, full: bool = True, lean: bool = False) -> PatientRecord:
    """One loaded patient's record (no query for the patient row itself)."""
    return records_for([patient], full=full, lean=lean)[patient.pk]
