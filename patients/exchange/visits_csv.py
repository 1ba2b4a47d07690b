"""The visits CSV: one row per visit for R, Stata or a spreadsheet."""

from __future__ import annotations

import csv
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, TextIO

from clinic.models import Clinic
from patients.exchange.export import clinic_patients, json_number
from patients.models import Course, DoseStep, Visit
from clinical.instruments.clasi import CLASI


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
    "course_start",
    "dose_mg",
    "dose_every_days",
    "days_since_course_start",
    "days_since_withdrawal",
)


def _safe(text: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ as a formula: make it text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def visit_rows(clinic: Clinic) -> Iterator[list[Any]]:
    """The header, then one row per visit (patients by code, visits by date); four queries."""
    columns = csv_item_columns()
    yield ["patient", "date", *(c[0] for c in columns), *CSV_TAIL]
    steps: dict[uuid.UUID, list] = defaultdict(list)
    for cid, date, mg, every in (
        DoseStep.objects.filter(course__patient__clinic=clinic)
        .order_by("date")
        .values_list("course_id", "date", "mg", "every_days")
    ):
        steps[cid].append((date, mg, every))
    courses: dict[uuid.UUID, list] = defaultdict(list)
    for cid, pid, start, end in (
        Course.objects.filter(patient__clinic=clinic)
        .order_by("start")
        .values_list("id", "patient_id", "start", "end")
    ):
        courses[pid].append((start, end, steps.get(cid, [])))
    codes = dict(clinic_patients(clinic).values_list("id", "code"))
    visits = Visit.objects.filter(patient__clinic=clinic).values_list(
        "patient_id",
        "date",
        "assessment__items",
        "assessment__activity",
        "assessment__damage",
        "assessment__severity",
    )
    ordered = sorted(visits, key=lambda v: (codes[v[0]], v[1]))
    for pid, date, items, activity, damage, severity in ordered:
        row: list[Any] = [_safe(codes[pid]), date.isoformat()]
        for _, area, key in columns:
            if items is None:
                row.append("")
            elif area is not None:
                row.append(items["areas"][area][key])
            else:
                value = items.get(key, 0)
                row.append(int(value) if isinstance(value, bool) else value)
        row += [
            "" if activity is None else activity,
            "" if damage is None else damage,
            severity or "",
        ]
        in_force = next(
            (c for c in courses.get(pid, []) if c[0] <= date and (c[1] is None or date <= c[1])),
            None,
        )
        if in_force is None:
            row += ["", "", "", ""]
        else:
            start, _, doses = in_force
            dose = None
            for step in doses:
                if step[0] <= date:
                    dose = step
            row += [
                start.isoformat(),
                "" if dose is None else json_number(dose[1]),
                "" if dose is None else dose[2],
                (date - start).days,
            ]
        # The latest withdrawal on or before the visit (0 on the withdrawal day itself).
        ended = [c[1] for c in courses.get(pid, []) if c[1] is not None and c[1] <= date]
        row.append((date - max(ended)).days if ended else "")
        yield row


def write_visits_csv(clinic: Clinic, out: TextIO) -> int:
    """Write the visits CSV (UTF-8, header, comma-separated); returns the number of visits."""
    writer = csv.writer(out, lineterminator="\n")
    count = -1
    for row in visit_rows(clinic):
        writer.writerow(row)
        count += 1
    return count
