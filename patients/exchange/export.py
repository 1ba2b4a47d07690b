"""Export: a clinic's record -> a deterministic `cle-tracker` document.

Patients by code, courses by start, visits by date, labs in form order, so
export -> import -> export is byte-identical.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from clinic.models import Clinic
from patients.exchange.importer import FORMAT
from patients.models import AdverseEvent, Course, DoseStep, LabResult, LabTest, Patient, Visit
from clinical.instruments.exam import parse_exam


def json_number(value: Decimal) -> int | float:
    """A stored Decimal as a JSON number without trailing noise: 5.00 -> 5, 0.850 -> 0.85."""
    value = value.normalize()
    if value == value.to_integral_value():
        return int(value)
    # float repr is the shortest text that reads back the same: the decimal itself
    # for the <= 12 significant digits the record's DecimalFields hold.
    return float(value)


def clinic_patients(clinic: Clinic):
    return Patient.objects.filter(clinic=clinic)


def export_document(clinic: Clinic) -> dict[str, Any]:
    """The clinic as a cle-tracker/1 document, in six queries whatever its size."""
    patients = list(
        clinic_patients(clinic)
        .order_by("code")
        .values_list(
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
        )
    )
    doses: dict[uuid.UUID, list] = defaultdict(list)
    for course_id, date, mg, every in DoseStep.objects.filter(
        course__patient__clinic=clinic
    ).values_list("course_id", "date", "mg", "every_days"):
        doses[course_id].append(
            {"date": date.isoformat(), "mg": json_number(mg), "every_days": every}
        )
    courses: dict[uuid.UUID, list] = defaultdict(list)
    for cid, pid, drug, start, end, reason in Course.objects.filter(
        patient__clinic=clinic
    ).values_list("id", "patient_id", "drug", "start", "end", "stop_reason"):
        course: dict[str, Any] = {"drug": drug, "start": start.isoformat()}
        if end is not None:
            course["end"] = end.isoformat()
        if reason:
            course["stop_reason"] = reason
        course["doses"] = sorted(doses.get(cid, []), key=lambda d: d["date"])
        courses[pid].append(course)
    labs: dict[uuid.UUID, list] = defaultdict(list)
    for vid, test, value, result, unit in LabResult.objects.filter(
        visit__patient__clinic=clinic
    ).values_list("visit_id", "test", "value", "result", "unit"):
        lab: dict[str, Any] = {
            "test": test,
            "value": result if test == LabTest.PREGNANCY else json_number(value),
        }
        if unit:
            lab["unit"] = unit
        labs[vid].append(lab)
    events: dict[uuid.UUID, list] = defaultdict(list)
    for vid, term, grade in AdverseEvent.objects.filter(visit__patient__clinic=clinic).values_list(
        "visit_id", "term", "grade"
    ):
        events[vid].append({"term": term, "grade": grade})
    visits: dict[uuid.UUID, list] = defaultdict(list)
    for vid, pid, date, note, items in Visit.objects.filter(patient__clinic=clinic).values_list(
        "id", "patient_id", "date", "note", "assessment__items"
    ):
        visit: dict[str, Any] = {"date": date.isoformat()}
        if items is not None:
            # Compact: what the examiner found abnormal; parses back to the same Exam.
            visit["clasi"] = parse_exam(items).to_dict(compact=True)
        if vid in labs:
            visit["labs"] = sorted(
                labs[vid], key=lambda x: (x["test"], str(x["value"]), x.get("unit", ""))
            )
        if vid in events:
            visit["adverse_events"] = sorted(events[vid], key=lambda e: (e["term"], e["grade"]))
        if note:
            visit["note"] = note
        visits[pid].append(visit)
    out = []
    for pid, code, name, sex, birth, subtypes, sle, diagnosed, reproductive, note in patients:
        patient: dict[str, Any] = {"code": code}
        if name:
            patient["name"] = name
        patient["sex"] = sex
        if birth is not None:
            patient["birth_date"] = birth.isoformat()
        patient["cle_subtypes"] = list(subtypes or [])
        patient["sle"] = sle
        if diagnosed is not None:
            patient["sle_diagnosed"] = diagnosed.isoformat()
        patient["reproductive_potential"] = reproductive
        if note:
            patient["note"] = note
        patient["courses"] = sorted(courses.get(pid, []), key=lambda c: c["start"])
        patient["visits"] = sorted(visits.get(pid, []), key=lambda v: v["date"])
        out.append(patient)
    return {"format": FORMAT, "clinic": clinic.name, "patients": out}


def dumps_document(doc: dict[str, Any]) -> str:
    """The one way a document is written to text (so two exports compare byte for byte)."""
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


