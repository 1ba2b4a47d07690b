"""Export: a clinic's record -> a deterministic `cle-tracker/2` document.

Reads the clinic through patients.snapshot (the one reader of the record) and
writes exchange-format.md version 2: patients by code, courses by start (then
drug), visits by date, labs by test, optional keys only when they hold
something, so export -> import -> export is byte-identical.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from clinic.models import Clinic
from clinical.instruments.exam import parse_exam
from clinical.record import Course, History, Lab, PatientRecord, Visit
from patients.models import Patient
from patients.snapshot import records_for

# What the export writes (exchange-format.md); the importer reads this and version 1.
EXPORT_FORMAT = "cle-tracker/2"


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


def _course(course: Course) -> dict[str, Any]:
    out: dict[str, Any] = {"drug": course.drug}
    if course.drug_name:
        out["drug_name"] = course.drug_name
    out["start"] = course.start.isoformat()
    if course.end is not None:
        out["end"] = course.end.isoformat()
    if course.stop_reason:
        out["stop_reason"] = course.stop_reason
    out["doses"] = [
        {"date": s.date.isoformat(), "mg": json_number(s.mg), "every_days": s.every_days}
        for s in course.doses
    ]
    if course.interruptions:
        holds = []
        for hold in course.interruptions:
            item: dict[str, Any] = {"start": hold.start.isoformat()}
            if hold.end is not None:
                item["end"] = hold.end.isoformat()
            if hold.reason:
                item["reason"] = hold.reason
            holds.append(item)
        out["interruptions"] = holds
    return out


def _lab(lab: Lab) -> dict[str, Any]:
    value = lab.value if isinstance(lab.value, str) else json_number(Decimal(lab.value))
    out: dict[str, Any] = {"test": lab.test, "value": value}
    if lab.unit:
        out["unit"] = lab.unit
    return out


def _event(event: Any) -> dict[str, Any]:
    """An adverse event; the version 2 keys only when recorded."""
    out: dict[str, Any] = {"term": event.term, "grade": event.grade}
    if event.term_other:
        out["term_other"] = event.term_other
    if event.attribution:
        out["attribution"] = event.attribution
    if event.action:
        out["action"] = event.action
    return out


def _visit(visit: Visit, items: Any, labs: list[Lab]) -> dict[str, Any]:
    out: dict[str, Any] = {"date": visit.date.isoformat()}
    if items is not None:
        # Compact: what the examiner found abnormal; parses back to the same Exam.
        out["clasi"] = parse_exam(items).to_dict(compact=True)
    if labs:
        out["labs"] = sorted(
            (_lab(lab) for lab in labs), key=lambda x: (x["test"], str(x["value"]), x.get("unit", ""))
        )
    if visit.adverse_events:
        out["adverse_events"] = [
            _event(e) for e in sorted(visit.adverse_events, key=lambda e: (e.term, e.grade, e.term_other))
        ]
    if visit.weight_kg is not None:
        out["weight_kg"] = json_number(visit.weight_kg)
    if visit.note:
        out["note"] = visit.note
    return out


def _history(history: History) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if history.vte is not None:
        out["vte"] = history.vte
    if history.antiphospholipid:
        out["antiphospholipid"] = history.antiphospholipid
    if history.oestrogen_contraception is not None:
        out["oestrogen_contraception"] = history.oestrogen_contraception
    if history.thalidomide_neuropathy is not None:
        out["thalidomide_neuropathy"] = history.thalidomide_neuropathy
    if history.note:
        out["note"] = history.note
    return out or None


def patient_document(record: PatientRecord) -> dict[str, Any]:
    """One patient of the document, from the record."""
    out: dict[str, Any] = {"code": record.code}
    if record.name:
        out["name"] = record.name
    out["sex"] = record.sex
    if record.birth_date is not None:
        out["birth_date"] = record.birth_date.isoformat()
    out["cle_subtypes"] = list(record.cle_subtypes)
    out["sle"] = record.sle
    if record.sle_diagnosed is not None:
        out["sle_diagnosed"] = record.sle_diagnosed.isoformat()
    out["reproductive_potential"] = record.reproductive_potential
    if record.note:
        out["note"] = record.note
    history = _history(record.history)
    if history is not None:
        out["history"] = history
    # Same-drug courses never overlap, so (start, drug, name) orders them fully.
    out["courses"] = [
        _course(c) for c in sorted(record.courses, key=lambda c: (c.start, c.drug, c.drug_name))
    ]
    items = {a.visit_id: a.items for a in record.assessments}
    labs_by_day: dict = {}
    for lab in record.labs:  # one visit per patient and day
        labs_by_day.setdefault(lab.date, []).append(lab)
    out["visits"] = [
        _visit(v, items.get(v.id), labs_by_day.get(v.date, [])) for v in record.visits
    ]
    return out


def export_document(clinic: Clinic, *, photos: bool = False) -> dict[str, Any]:
    """The clinic as a cle-tracker/2 document, in a fixed number of queries whatever its size.

    Every patient's photographic consent is in it; `photos` adds the references
    to the photographs, whose files the caller writes beside the document
    (photos/exchange.py says why a plain export has none)."""
    from photos.exchange import add_to_document

    records = records_for(clinic_patients(clinic).order_by("code"))
    patients = sorted(records.values(), key=lambda r: r.code)
    doc = {
        "format": EXPORT_FORMAT,
        "clinic": clinic.name,
        "patients": [patient_document(r) for r in patients],
    }
    add_to_document(doc, clinic, references=photos)
    return doc


def dumps_document(doc: dict[str, Any]) -> str:
    """The one way a document is written to text (so two exports compare byte for byte)."""
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
