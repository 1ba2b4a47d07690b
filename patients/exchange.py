"""The `cle-tracker/1` exchange format <-> the clinical record.

Contract: ../shared/docs/exchange-format.md. One module does both directions
so that what export writes is, by construction, what import reads:

- `parse_document(data)` validates a decoded document (the JSON Schema kept
  beside this file, then scoring.clasi's own checks of every examination,
  then the record's cross-row rules) and returns plain parsed rows, or
  raises `DocumentError` naming the path of the FIRST error in document
  order, e.g. `patients[3].visits[2].clasi.areas.ears.erythema: 5 is not one
  of 0, 1, 2, 3`.
- `import_document(...)` writes a parsed document in ONE transaction with
  bulk_create (40,000 visits would take minutes row by row); the CLASI totals
  still come from the one scorer via scoring.services.assessment_values.
- `export_document(clinic)` reads a clinic in a fixed number of queries and
  writes a deterministic document (patients by code, courses by start, visits
  by date, labs by test), so export -> import -> export is byte-identical.
- `write_visits_csv(clinic, out)`: one row per visit for R, Stata or a
  spreadsheet.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TextIO

from auditlog.context import disable_auditlog
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError as SchemaError

from audit.models import AuditEntry as LogEntry
from clinic.models import Clinic
from patients.dates import implausible
from patients.models import AdverseEvent, Course, DoseStep, LabResult, LabTest, Patient, Visit
from scoring.clasi import Exam, ExamError, parse_exam
from scoring.instrument import CLASI
from scoring.models import Assessment
from scoring.services import assessment_values

FORMAT = "cle-tracker/1"
SCHEMA_PATH = Path(__file__).with_name("cle-tracker-1.schema.json")
SCHEMA_FILENAME = "cle-tracker-1.schema.json"

# DecimalField limits of the record (DoseStep.mg 6/2, LabResult.value 12/4).
MG_PLACES, LAB_PLACES = 2, 4
BATCH = 1000
FLUSH_VISITS = 5000

Existing = Literal["error", "update", "skip"]
Progress = Callable[[str, int, int], None]


class DocumentError(ValueError):
    """A rejected document: `path` in the document's own style, `message` what is wrong."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


# ------------------------------------------------------------------ parsed rows


@dataclass
class DoseIn:
    date: dt.date
    mg: Decimal
    every_days: int


@dataclass
class CourseIn:
    drug: str
    start: dt.date
    end: dt.date | None
    stop_reason: str
    doses: list[DoseIn]


@dataclass
class LabIn:
    test: str
    value: Decimal | None
    result: str
    unit: str


@dataclass
class VisitIn:
    date: dt.date
    exam: Exam | None
    labs: list[LabIn]
    events: list[tuple[str, int]]
    note: str


@dataclass
class PatientIn:
    index: int
    code: str
    fields: dict[str, Any]
    courses: list[CourseIn]
    visits: list[VisitIn]


@dataclass
class ParsedDocument:
    clinic: str
    patients: list[PatientIn]

    @property
    def visit_count(self) -> int:
        return sum(len(p.visits) for p in self.patients)


@dataclass
class ImportResult:
    clinic: Clinic
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    courses: int = 0
    visits: int = 0

    def summary(self) -> str:
        parts = [f"{len(self.created)} patients created"]
        if self.updated:
            parts.append(f"{len(self.updated)} replaced")
        if self.skipped:
            parts.append(f"{len(self.skipped)} already present and left as they were")
        return (
            f"{self.clinic.name}: {', '.join(parts)}; "
            f"{self.courses} courses and {self.visits} visits written."
        )


# ------------------------------------------------------------------ the schema


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of cle-tracker/1, as kept in the repo."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    # The downloadable schema describes a CLASI exam completely, for other
    # tools; here the exam is only required to be an object, because
    # scoring.clasi's own messages ("areas.scalp.scarring: not scored on the
    # scalp; use scalp_scarring") are clearer than a schema's, and it is the
    # parser that has to run anyway to score the exam.
    relaxed = copy.deepcopy(schema())
    relaxed["$defs"]["clasi"] = {"type": "object"}
    return _StrictValidator(relaxed, format_checker=Draft202012Validator.FORMAT_CHECKER)


# JSON Schema counts 2.0 as an integer; the format says integers, and a 2.0
# imported as 2 would make the first round trip change the document.
_StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)


def path_text(parts: Iterable[str | int]) -> str:
    """("patients", 3, "visits", 2, "clasi") -> "patients[3].visits[2].clasi"."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _position(doc: Any, parts: Iterable[str | int]) -> tuple[int, ...]:
    """Where a path lies in document order (object keys by their place in the file)."""
    key: list[int] = []
    node = doc
    for part in parts:
        if isinstance(node, dict):
            keys = list(node)
            key.append(keys.index(part) if part in node else len(keys))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            key.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            key.append(0)
            node = None
    return tuple(key)


def _describe_schema_error(error: SchemaError) -> tuple[list[str | int], str]:
    parts: list[str | int] = list(error.absolute_path)
    instance, kind = error.instance, error.validator
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        extra = next(k for k in instance if k not in known)
        allowed = ", ".join(known)
        return parts + [extra], f"unknown key; the keys here are {allowed}"
    if kind == "required":
        missing = next(k for k in error.validator_value if k not in instance)
        return parts + [missing], "is required"
    if kind == "enum":
        return (
            parts,
            f"{_json(instance)} is not one of {', '.join(_json(v) for v in error.validator_value)}",
        )
    if kind == "const":
        return parts, f"{_json(instance)} is not {_json(error.validator_value)}"
    if kind == "format" or (kind == "pattern" and error.validator_value.startswith("^\\d{4}")):
        return parts, f"{_json(instance)} is not a date (YYYY-MM-DD)"
    if kind == "dependentRequired":
        needed = next(iter(error.validator_value.values()))
        return (
            parts,
            f"{error.message.split(' is a dependency')[0]} needs {', '.join(map(_json, needed))}",
        )
    if kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return parts, f"{_json(instance)} is not of type {expected}"
    if kind == "pattern":
        return parts, "must not be blank"
    return parts, error.message


def _first_schema_error(doc: Any) -> tuple[tuple[int, ...], DocumentError] | None:
    best: tuple[tuple[int, ...], DocumentError] | None = None
    for error in _validator().iter_errors(doc):
        parts, message = _describe_schema_error(error)
        # Within one place, a "required"/"unknown key" of the object itself
        # comes before what is wrong inside it.
        where = _position(doc, parts)
        if best is None or where < best[0]:
            best = (where, DocumentError(path_text(parts), message))
    return best


# ------------------------------------------------------------------ parsing


def _date(text: str, path: str) -> dt.date:
    """A date the schema has already checked for form; here, for plausibility."""
    day = dt.date.fromisoformat(text)
    message = implausible(day)
    if message:
        raise DocumentError(path, message)
    return day


def _decimal(value: float, places: int, path: str) -> Decimal:
    # Floats come from the JSON text; repr() is the shortest text that reads
    # back to the same float, i.e. what the file said (0.85 -> Decimal("0.85")).
    try:
        number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    except InvalidOperation:
        raise DocumentError(path, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise DocumentError(path, f"{value!r} is not a number")
    if number.as_tuple().exponent < -places and number != number.quantize(
        Decimal(1).scaleb(-places)
    ):
        raise DocumentError(path, f"{value} has more than {places} decimal places")
    return number


def _exam_errors_first(doc: dict) -> tuple[tuple[int, ...], DocumentError] | None:
    """The first CLASI exam scoring.clasi rejects, in document order."""
    patients = doc.get("patients")
    for i, patient in enumerate(patients if isinstance(patients, list) else []):
        if not isinstance(patient, dict):
            continue
        visits = patient.get("visits")
        if not isinstance(visits, list):
            continue
        for j, visit in enumerate(visits):
            if isinstance(visit, dict) and "clasi" in visit and isinstance(visit["clasi"], dict):
                try:
                    parse_exam(visit["clasi"])
                except ExamError as error:
                    where = ("patients", i, "visits", j, "clasi")
                    err = error.prefixed(path_text(where))
                    return _position(doc, where), DocumentError(err.path, err.message)
    return None


def _nul_error_first(doc: Any) -> tuple[tuple[int, ...], DocumentError] | None:
    """The first text holding a NUL character, which PostgreSQL cannot store."""

    def walk(value: Any, where: tuple) -> tuple | None:
        if isinstance(value, str):
            return where if "\x00" in value else None
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            return None
        for key, child in items:
            found = walk(child, (*where, key))
            if found is not None:
                return found
        return None

    where = walk(doc, ())
    if where is None:
        return None
    return _position(doc, where), DocumentError(
        path_text(where), "contains a NUL character, which cannot be stored"
    )


def parse_document(
    data: Any, *, today: dt.date | None = None, progress: Progress | None = None
) -> ParsedDocument:
    """Validate a decoded cle-tracker/1 document; DocumentError names the first problem."""
    if not isinstance(data, dict):
        raise DocumentError("", "a cle-tracker/1 document is a JSON object")
    schema_error = _first_schema_error(data)
    exam_error = _exam_errors_first(data)
    nul_error = _nul_error_first(data)
    found = [e for e in (schema_error, exam_error, nul_error) if e is not None]
    if found:
        raise min(found, key=lambda pair: pair[0])[1]
    today = today or timezone.localdate()
    patients: list[PatientIn] = []
    seen_codes: dict[str, int] = {}
    total = len(data["patients"])
    for i, raw in enumerate(data["patients"]):
        patients.append(_parse_patient(i, raw, seen_codes, today))
        if progress is not None and (i % 50 == 0 or i + 1 == total):
            progress("checking", i + 1, total)
    return ParsedDocument(clinic=data["clinic"].strip(), patients=patients)


def _parse_patient(i: int, raw: dict, seen_codes: dict[str, int], today: dt.date) -> PatientIn:
    here = f"patients[{i}]"
    code = raw["code"].strip()
    if code in seen_codes:
        raise DocumentError(
            f"{here}.code",
            f"{_json(code)} is also the code of patients[{seen_codes[code]}]; codes are unique",
        )
    seen_codes[code] = i
    birth = _date(raw["birth_date"], f"{here}.birth_date") if "birth_date" in raw else None
    if birth is not None and birth > today:
        raise DocumentError(f"{here}.birth_date", "is in the future")
    sle = raw.get("sle", False)
    diagnosed = _date(raw["sle_diagnosed"], f"{here}.sle_diagnosed") if "sle_diagnosed" in raw else None
    if diagnosed is not None and diagnosed > today:
        raise DocumentError(f"{here}.sle_diagnosed", "is in the future")
    if diagnosed is not None and not sle:
        raise DocumentError(f"{here}.sle_diagnosed", 'a diagnosis date needs "sle": true')
    if diagnosed is not None and birth is not None and diagnosed < birth:
        raise DocumentError(f"{here}.sle_diagnosed", "is before the birth date")
    subtypes = raw.get("cle_subtypes", [])
    fields = {
        "name": raw.get("name", ""),
        "sex": raw["sex"],
        "birth_date": birth,
        # The record keeps subtypes in the vocabulary's order (patients.services).
        "cle_subtypes": [s for s in _SUBTYPES if s in subtypes],
        "sle": sle,
        "sle_diagnosed": diagnosed,
        "reproductive_potential": raw.get("reproductive_potential", False),
        "note": raw.get("note", ""),
    }
    courses = [
        _parse_course(f"{here}.courses[{k}]", c) for k, c in enumerate(raw.get("courses", []))
    ]
    _check_overlaps(here, courses)
    visits: list[VisitIn] = []
    seen_dates: dict[dt.date, int] = {}
    for j, v in enumerate(raw.get("visits", [])):
        visit = _parse_visit(f"{here}.visits[{j}]", v)
        if visit.date > today:
            raise DocumentError(
                f"{here}.visits[{j}].date", f"{visit.date.isoformat()} is in the future"
            )
        if visit.date in seen_dates:
            raise DocumentError(
                f"{here}.visits[{j}].date",
                f"visits[{seen_dates[visit.date]}] is on the same day; one visit per day",
            )
        seen_dates[visit.date] = j
        visits.append(visit)
    return PatientIn(index=i, code=code, fields=fields, courses=courses, visits=visits)


_SUBTYPES = ("ACLE", "SCLE", "DLE", "tumid", "profundus", "chilblain", "other")


def _parse_course(here: str, raw: dict) -> CourseIn:
    start = _date(raw["start"], f"{here}.start")
    end = _date(raw["end"], f"{here}.end") if "end" in raw else None
    if end is not None and end < start:
        raise DocumentError(
            f"{here}.end",
            f"the withdrawal {end.isoformat()} is before the start {start.isoformat()}",
        )
    doses: list[DoseIn] = []
    for k, d in enumerate(raw.get("doses", [])):
        where = f"{here}.doses[{k}]"
        date = _date(d["date"], f"{where}.date")
        if date < start or (end is not None and date > end):
            until = end.isoformat() if end else "ongoing"
            raise DocumentError(
                f"{where}.date",
                f"{date.isoformat()} is outside the course ({start.isoformat()} to {until})",
            )
        if doses and date <= doses[-1].date:
            raise DocumentError(
                f"{where}.date",
                f"{date.isoformat()} is not after the previous dose step; steps are in date order, one per day",
            )
        doses.append(DoseIn(date, _decimal(d["mg"], MG_PLACES, f"{where}.mg"), d["every_days"]))
    return CourseIn(raw["drug"], start, end, raw.get("stop_reason", ""), doses)


def _check_overlaps(here: str, courses: list[CourseIn]) -> None:
    for k, course in enumerate(courses):
        for m in range(k):
            other = courses[m]
            if other.start <= (course.end or dt.date.max) and course.start <= (
                other.end or dt.date.max
            ):
                until = other.end.isoformat() if other.end else "still running"
                raise DocumentError(
                    f"{here}.courses[{k}].start",
                    f"overlaps courses[{m}] ({other.start.isoformat()} to {until}); one course at a time",
                )


def _parse_visit(here: str, raw: dict) -> VisitIn:
    labs = []
    for k, lab in enumerate(raw.get("labs", [])):
        if lab["test"] == LabTest.PREGNANCY:
            labs.append(LabIn(lab["test"], None, lab["value"], lab.get("unit", "")))
        else:
            value = _decimal(lab["value"], LAB_PLACES, f"{here}.labs[{k}].value")
            labs.append(LabIn(lab["test"], value, "", lab.get("unit", "")))
    events = [(e["term"].strip(), e["grade"]) for e in raw.get("adverse_events", [])]
    # Already validated by _exam_errors_first; parsing again is cheap and typed.
    exam = parse_exam(raw["clasi"]) if "clasi" in raw else None
    return VisitIn(_date(raw["date"], f"{here}.date"), exam, labs, events, raw.get("note", ""))


def loads_document(text: str | bytes) -> Any:
    """Decode JSON text; a syntax error becomes a DocumentError with line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DocumentError(
            "", f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except UnicodeDecodeError:
        raise DocumentError("", "not UTF-8 text") from None


# ------------------------------------------------------------------ import


def import_document(
    data: Any,
    *,
    clinic: Clinic | None = None,
    existing: Existing = "error",
    source: str = "",
    actor=None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate and write a whole document, all or nothing.

    `clinic`: the clinic to import into (the browser's choice); None takes
    the document's "clinic", created if needed (the command line).
    `existing`: what to do with a patient whose code the clinic has already:
    "error" refuses the document, "update" replaces that patient's details,
    courses and visits, "skip" leaves the patient untouched (the demo loader).
    """
    parsed = parse_document(data, progress=progress)
    try:
        with transaction.atomic():
            return _write(parsed, clinic, existing, source, actor, progress)
    except IntegrityError:
        # Checked above, so only a concurrent write can get here (two imports
        # of the same new patients at once): nothing was written, say so.
        raise DocumentError(
            "", "another import or edit wrote these patients at the same moment; "
            "nothing was imported, try again"
        ) from None


def _write(
    parsed: ParsedDocument,
    clinic: Clinic | None,
    existing: Existing,
    source: str,
    actor,
    progress: Progress | None,
) -> ImportResult:
    if clinic is None:
        clinic, _ = Clinic.objects.get_or_create(name=parsed.clinic)
    result = ImportResult(clinic=clinic)
    known = dict(Patient.objects.filter(clinic=clinic).values_list("code", "id"))
    to_write: list[tuple[PatientIn, uuid.UUID, bool]] = []
    for p in parsed.patients:
        if p.code not in known:
            to_write.append((p, uuid.uuid4(), False))
            result.created.append(p.code)
        elif existing == "update":
            to_write.append((p, known[p.code], True))
            result.updated.append(p.code)
        elif existing == "skip":
            result.skipped.append(p.code)
        else:
            raise DocumentError(
                f"patients[{p.index}].code",
                f"{clinic.name} already has a patient {_json(p.code)}; "
                "import with update to replace that patient's records",
            )
    replaced = [pid for _, pid, is_update in to_write if is_update]
    if replaced:
        # Replacing means no old course or visit survives next to the new ones.
        # The patient's own audit entry (_audit) says what replaced them; an
        # entry per deleted row would hold no content and cost a chain link each.
        with disable_auditlog():
            Course.objects.filter(patient_id__in=replaced).delete()
            Visit.objects.filter(patient_id__in=replaced).delete()
        patients = {p.pk: p for p in Patient.objects.filter(pk__in=replaced)}
        for p, pid, is_update in to_write:
            if is_update:
                for key, value in p.fields.items():
                    setattr(patients[pid], key, value)
                patients[pid].updated_at = timezone.now()
        Patient.objects.bulk_update(
            list(patients.values()), [*to_write[0][0].fields, "updated_at"], batch_size=BATCH
        )
    Patient.objects.bulk_create(
        [
            Patient(id=pid, clinic=clinic, code=p.code, **p.fields)
            for p, pid, is_update in to_write
            if not is_update
        ],
        batch_size=BATCH,
    )
    rows: dict[type, list] = defaultdict(list)
    total = len(to_write)
    for n, (p, pid, _) in enumerate(to_write, start=1):
        for c in p.courses:
            course = Course(
                id=uuid.uuid4(),
                patient_id=pid,
                drug=c.drug,
                start=c.start,
                end=c.end,
                stop_reason=c.stop_reason,
            )
            rows[Course].append(course)
            rows[DoseStep].extend(
                DoseStep(
                    id=uuid.uuid4(),
                    course_id=course.id,
                    date=d.date,
                    mg=d.mg,
                    every_days=d.every_days,
                )
                for d in c.doses
            )
        for v in p.visits:
            visit = Visit(id=uuid.uuid4(), patient_id=pid, date=v.date, note=v.note)
            rows[Visit].append(visit)
            if v.exam is not None:
                # The one scorer computes the totals (scoring.services).
                rows[Assessment].append(
                    Assessment(id=uuid.uuid4(), visit_id=visit.id, **assessment_values(v.exam))
                )
            rows[LabResult].extend(
                LabResult(
                    id=uuid.uuid4(),
                    visit_id=visit.id,
                    test=lab.test,
                    value=lab.value,
                    result=lab.result,
                    unit=lab.unit,
                )
                for lab in v.labs
            )
            rows[AdverseEvent].extend(
                AdverseEvent(id=uuid.uuid4(), visit_id=visit.id, term=term, grade=grade)
                for term, grade in v.events
            )
        result.courses += len(p.courses)
        result.visits += len(p.visits)
        # Flush every few thousand visits: memory stays flat whatever the file's size.
        if len(rows[Visit]) >= FLUSH_VISITS or n == total:
            _flush(rows)
            rows.clear()
            if progress is not None:
                progress("writing", n, total)
    _audit(to_write, source, actor)
    return result


def _flush(rows: dict[type, list]) -> None:
    # Parents before children: the foreign keys are checked row by row on SQLite.
    for model in (Course, DoseStep, Visit, Assessment, LabResult, AdverseEvent):
        if rows.get(model):
            model.objects.bulk_create(rows[model], batch_size=BATCH)


def _audit(to_write: list[tuple[PatientIn, uuid.UUID, bool]], source: str, actor) -> None:
    """One audit entry per imported patient.

    bulk_create sends no save signals, so django-auditlog logs nothing by
    itself; these entries carry {"patient": id} like every other entry of the
    patient, so the patient's history page shows the import.
    """
    content_type = ContentType.objects.get_for_model(Patient)
    what = source or "a cle-tracker/1 document"
    entries = [
        LogEntry(
            content_type=content_type,
            object_pk=str(pid),
            object_repr=f"{p.code} {p.fields['name']}".strip(),
            action=LogEntry.Action.UPDATE if is_update else LogEntry.Action.CREATE,
            changes={
                "import": [
                    "",
                    (
                        f"{'replaced from' if is_update else 'imported from'} {what}: "
                        f"{len(p.courses)} courses, {len(p.visits)} visits"
                    ),
                ]
            },
            actor=actor,
            additional_data={"patient": str(pid), "import": what},
        )
        for p, pid, is_update in to_write
    ]
    LogEntry.objects.bulk_create(entries, batch_size=BATCH)


# ------------------------------------------------------------------ export


def json_number(value: Decimal) -> int | float:
    """A stored Decimal as a JSON number without trailing noise: 5.00 -> 5, 0.850 -> 0.85."""
    value = value.normalize()
    if value == value.to_integral_value():
        return int(value)
    # float repr is the shortest text that reads back the same: the decimal itself
    # for the <= 12 significant digits the record's DecimalFields hold.
    return float(value)


def _clinic_patients(clinic: Clinic):
    return Patient.objects.filter(clinic=clinic)


def export_document(clinic: Clinic) -> dict[str, Any]:
    """The clinic as a cle-tracker/1 document, in six queries whatever its size."""
    patients = list(
        _clinic_patients(clinic)
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


# ------------------------------------------------------------------ CSV of visits


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
    codes = dict(_clinic_patients(clinic).values_list("id", "code"))
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
