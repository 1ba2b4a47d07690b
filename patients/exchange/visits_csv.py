"""The visits CSV: one row per visit for R, Stata or a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from clinic.models import Clinic
from clinical.instruments.clasi import CLASI
from clinical.record import PatientRecord, treatments_text
from patients.exchange.export import clinic_patients, json_number
from patients.snapshot import records_for


def csv_item_columns() -> list[tuple[str, str | None, str]]:
    """(column, area or None, item) for every raw CLASI item, in form order."""
    columns: list[tuple[str, str | None, str]] = []
    for area in CLASI.areas:
        for item_key in CLASI.applicable[area.key]:
            columns.append((f"{area.key}_{item_key}", area.key, item_key))
    for item in CLASI.exam_items:
        columns.append((item.key, None, item.key))
    columns.append((CLASI.modifier.key, None, CLASI.modifier.key))
    return columns


CSV_TAIL = (
    "activity",
    "damage",
    "severity",
    "weight_kg",
    # The watched course (clasi.md section 3) in force at the visit, if any:
    "watched_drug",
    "course_start",
    "dose_mg",
    "dose_every_days",
    "on_hold",
    "days_since_course_start",
    "days_since_withdrawal",
    # Every course in force at the visit, watched drugs first, with dose and hold:
    # "Lenalidomide 5 mg daily (on hold); Hydroxychloroquine 200 mg daily".
    "treatments",
    # How many clinical photographs the visit has (the files are not in the CSV).
    "photos",
)


def _safe(text: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ as a formula: make it text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _item_cells(items: Any, columns: list[tuple[str, str | None, str]]) -> list[Any]:
    cells: list[Any] = []
    for _, area, key in columns:
        if items is None:
            cells.append("")
        elif area is not None:
            cells.append(items["areas"][area][key])
        else:
            value = items.get(key, 0)
            cells.append(int(value) if isinstance(value, bool) else value)
    return cells


def _treatment_cells(record: PatientRecord, day) -> list[Any]:
    course = record.course_on(day)
    if course is None:
        cells: list[Any] = ["", "", "", "", "", ""]
    else:
        dose = course.dose_on(day)
        cells = [
            course.drug,
            course.start.isoformat(),
            "" if dose is None else json_number(dose.mg),
            "" if dose is None else dose.every_days,
            int(course.on_hold(day)),
            (day - course.start).days,
        ]
    # The latest withdrawal of a watched course on or before the visit (0 that day).
    ended = [c.end for c in record.watched_courses if c.stopped_by(day)]
    cells.append((day - max(ended)).days if ended else "")
    treatments = record.treatments_on(day)
    cells.append(_safe(treatments_text(treatments)) if treatments else "")
    return cells


def visit_rows(clinic: Clinic) -> Iterator[list[Any]]:
    """The header, then one row per visit (patients by code, visits by date).

    Reads the clinic through patients.snapshot, and the photographs counted
    per visit (one query): a fixed number of queries.
    """
    from photos.exchange import counts_by_visit

    columns = csv_item_columns()
    yield ["patient", "date", *(c[0] for c in columns), *CSV_TAIL]
    records = records_for(clinic_patients(clinic))
    photos = counts_by_visit(clinic)
    for record in sorted(records.values(), key=lambda r: r.code):
        assessments = {a.visit_id: a for a in record.assessments}
        for visit in record.visits:
            a = assessments.get(visit.id)
            row: list[Any] = [_safe(record.code), visit.date.isoformat()]
            row += _item_cells(a.items if a is not None else None, columns)
            row += [
                "" if a is None else a.activity,
                "" if a is None else a.damage,
                "" if a is None else a.severity,
                "" if visit.weight_kg is None else json_number(visit.weight_kg),
            ]
            row += _treatment_cells(record, visit.date)
            row.append(photos.get(visit.id, 0))
            yield row


def write_visits_csv(clinic: Clinic, out: TextIO) -> int:
    """Write the visits CSV (UTF-8, header, comma-separated); returns the number of visits."""
    writer = csv.writer(out, lineterminator="\n")
    count = -1
    for row in visit_rows(clinic):
        writer.writerow(row)
        count += 1
    return count
