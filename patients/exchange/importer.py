"""Import of the exchange format: `cle-tracker/2` and `cle-tracker/1` -> the record.

Contract: ../shared/docs/exchange-format.md. Export lives in export.py.

- `parse_document(data)` validates a decoded document (the JSON Schema of
  version 2 kept beside this file, the version 1 limits, clinical.instruments.exam's own
  checks of every examination, then the record's rules) and returns plain
  parsed rows, or raises `DocumentError` naming the path of the FIRST error
  in document order, e.g. `patients[3].visits[2].clasi.areas.ears.erythema:
  5 is not one of 0, 1, 2, 3`. The record's rules (drugs, dose ranges,
  overlaps, interruptions, dates within the patient's life, lab units) are
  patients.services' check functions, called here on the parsed rows without
  a query per row: no rule is written twice.
- `import_document(...)` writes a parsed document in ONE transaction with
  bulk_create (40,000 visits would take minutes row by row); the CLASI totals
  still come from the one scorer via scoring.services.assessment_values.

A version 1 document is a version 2 document with lenalidomide only and no
version 2 key; a version 2 key in it is an error with its path.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from auditlog.context import disable_auditlog
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError as SchemaError

from audit.models import AuditEntry as LogEntry
from clinic.models import Clinic
from patients import services as rules
from patients.dates import implausible
from patients.models import (
    AdverseEvent,
    CleSubtype,
    Course,
    DoseStep,
    Interruption,
    LabResult,
    LabTest,
    Patient,
    Visit,
)
from clinical.instruments.exam import Exam, ExamError, parse_exam
from scoring.models import Assessment
from scoring.services import assessment_values

FORMAT = "cle-tracker/2"
FORMAT_V1 = "cle-tracker/1"
FORMATS = (FORMAT_V1, FORMAT)
SCHEMA_PATH = Path(__file__).with_name("cle-tracker-2.schema.json")
SCHEMA_FILENAME = "cle-tracker-2.schema.json"
SCHEMA_V1_PATH = Path(__file__).with_name("cle-tracker-1.schema.json")
SCHEMA_V1_FILENAME = "cle-tracker-1.schema.json"

# DecimalField limits of the record (DoseStep.mg 6/2, LabResult.value 12/4, Visit.weight_kg 5/1).
MG_PLACES, LAB_PLACES, WEIGHT_PLACES = 2, 4, 1
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
class InterruptionIn:
    start: dt.date
    end: dt.date | None
    reason: str


@dataclass
class CourseIn:
    drug: str
    start: dt.date
    end: dt.date | None
    stop_reason: str
    doses: list[DoseIn]
    drug_name: str = ""
    interruptions: list[InterruptionIn] = field(default_factory=list)


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
    events: list[tuple[str, int, str, str, str]]  # term, grade, term_other, attribution, action
    note: str
    weight_kg: Decimal | None = None


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
    photos: int = 0

    def summary(self) -> str:
        parts = [f"{len(self.created)} patients created"]
        if self.updated:
            parts.append(f"{len(self.updated)} replaced")
        if self.skipped:
            parts.append(f"{len(self.skipped)} already present and left as they were")
        return (
            f"{self.clinic.name}: {', '.join(parts)}; "
            f"{self.courses} courses and {self.visits} visits written"
            + (f", with {self.photos} photographs." if self.photos else ".")
        )


# ------------------------------------------------------------------ the schema


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of cle-tracker/2, as kept in the repo."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    # The downloadable schema describes a CLASI exam completely, for other
    # tools; here the exam is only required to be an object, because
    # clinical.instruments.exam's own messages ("areas.scalp.scarring: not scored on the
    # scalp; use scalp_scarring") are clearer than a schema's, and it is the
    # parser that has to run anyway to score the exam.
    relaxed = copy.deepcopy(schema())
    relaxed["$defs"]["clasi"] = {"type": "object"}
    # Both versions are read; the version 1 limits are checked by _v2_in_v1.
    relaxed["properties"]["format"] = {"enum": list(FORMATS)}
    # `other` needs drug_name: the record's rule (patients.services.drug_problems)
    # says so with a clearer message than the schema's if/then/else.
    for key in ("if", "then", "else"):
        relaxed["$defs"]["course"].pop(key, None)
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
    if kind == "pattern" and error.validator_value != "\\S":
        return parts, f"{_json(instance)} does not have the form {error.validator_value}"
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
    """The first CLASI exam clinical.instruments.exam rejects, in document order."""
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


# Keys and values a version 1 document cannot hold (exchange-format.md, "Versions").
_V2_KEYS = {
    "patient": ("history", "photo_consent"),
    "course": ("drug_name", "interruptions"),
    "visit": ("weight_kg", "photos"),
    "adverse_event": ("term_other", "attribution", "action"),
}
_V1_DRUGS = ("lenalidomide",)
_V1_TESTS = tuple(t for t in LabTest.values if t != LabTest.UPCR)


def _v2_in_v1(doc: dict) -> tuple[tuple[int, ...], DocumentError] | None:
    """The first version 2 key or value in a document that says version 1."""
    if doc.get("format") != FORMAT_V1:
        return None
    found: list[tuple[str | int, ...]] = []
    patients = doc.get("patients")
    for i, patient in enumerate(patients if isinstance(patients, list) else []):
        if not isinstance(patient, dict):
            continue
        here = ("patients", i)
        found += [(*here, k) for k in _V2_KEYS["patient"] if k in patient]
        for k, course in enumerate(_list(patient.get("courses"))):
            if isinstance(course, dict):
                found += [(*here, "courses", k, key) for key in _V2_KEYS["course"] if key in course]
                if course.get("drug") not in _V1_DRUGS and isinstance(course.get("drug"), str):
                    found.append((*here, "courses", k, "drug"))
        for j, visit in enumerate(_list(patient.get("visits"))):
            if isinstance(visit, dict):
                found += [(*here, "visits", j, key) for key in _V2_KEYS["visit"] if key in visit]
                for m, lab in enumerate(_list(visit.get("labs"))):
                    if isinstance(lab, dict) and lab.get("test") == LabTest.UPCR:
                        found.append((*here, "visits", j, "labs", m, "test"))
                for m, event in enumerate(_list(visit.get("adverse_events"))):
                    if isinstance(event, dict):
                        found += [(*here, "visits", j, "adverse_events", m, key)
                                  for key in _V2_KEYS["adverse_event"] if key in event]
    if not found:
        return None
    where = min(found, key=lambda parts: _position(doc, parts))
    value = where[-1] if where[-1] not in ("drug", "test") else _json(_at(doc, where))
    return _position(doc, where), DocumentError(
        path_text(where),
        f"{value} belongs to {FORMAT}, but the document says \"format\": \"{FORMAT_V1}\"",
    )


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _at(doc: Any, parts: Iterable[str | int]) -> Any:
    for part in parts:
        doc = doc[part]
    return doc


def parse_document(
    data: Any, *, today: dt.date | None = None, progress: Progress | None = None
) -> ParsedDocument:
    """Validate a decoded cle-tracker/2 or /1 document; DocumentError names the first problem."""
    if not isinstance(data, dict):
        raise DocumentError("", "a cle-tracker document is a JSON object")
    schema_error = _first_schema_error(data)
    exam_error = _exam_errors_first(data)
    nul_error = _nul_error_first(data)
    version_error = _v2_in_v1(data)
    found = [e for e in (schema_error, exam_error, nul_error, version_error) if e is not None]
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


def _refuse(here: str, problem: rules.Problem | None, *, under: str = "") -> None:
    """Raise a services rule's problem as the document's path (`under` is a list's name)."""
    if problem is None:
        return
    if under and problem.index is not None:
        here = f"{here}.{under}[{problem.index}]"
    raise DocumentError(f"{here}.{problem.field}", problem.message)


def _refuse_first(here: str, problems: Iterable[rules.Problem | None], *, under: str = "") -> None:
    for problem in problems:
        _refuse(here, problem, under=under)


_HISTORY = {
    "vte": "history_vte",
    "antiphospholipid": "history_antiphospholipid",
    "oestrogen_contraception": "history_oestrogen_contraception",
    "thalidomide_neuropathy": "history_thalidomide_neuropathy",
    "note": "history_note",
}


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
    diagnosed = _date(raw["sle_diagnosed"], f"{here}.sle_diagnosed") if "sle_diagnosed" in raw else None
    subtypes = raw.get("cle_subtypes", [])
    history = raw.get("history", {})
    fields = {
        "name": raw.get("name", ""),
        "sex": raw["sex"],
        "birth_date": birth,
        # The record keeps subtypes in the vocabulary's order (patients.services).
        "cle_subtypes": [s for s in CleSubtype.values if s in subtypes],
        "sle": raw.get("sle", False),
        "sle_diagnosed": diagnosed,
        "reproductive_potential": raw.get("reproductive_potential", False),
        "note": raw.get("note", ""),
        # Absent means unknown: None for the yes/no items, blank for the others.
        **{
            column: history.get(key, "" if key in ("antiphospholipid", "note") else None)
            for key, column in _HISTORY.items()
        },
    }
    _refuse_first(here, rules.patient_problems(fields, today=today))
    courses = [
        _parse_course(f"{here}.courses[{k}]", c, birth, today)
        for k, c in enumerate(raw.get("courses", []))
    ]
    for k, course in enumerate(courses):
        other = rules.course_clash(course, courses[:k])
        if other is not None:
            m = next(n for n, c in enumerate(courses) if c is other)
            raise DocumentError(
                f"{here}.courses[{k}].start",
                f"{rules.clash_message(course, other)} (courses[{m}])",
            )
    visits: list[VisitIn] = []
    seen_dates: dict[dt.date, int] = {}
    for j, v in enumerate(raw.get("visits", [])):
        visit = _parse_visit(f"{here}.visits[{j}]", v, birth, today)
        if visit.date in seen_dates:
            raise DocumentError(
                f"{here}.visits[{j}].date",
                f"visits[{seen_dates[visit.date]}] is on the same day; one visit per day",
            )
        seen_dates[visit.date] = j
        visits.append(visit)
    return PatientIn(index=i, code=code, fields=fields, courses=courses, visits=visits)


def _parse_course(here: str, raw: dict, birth: dt.date | None, today: dt.date) -> CourseIn:
    drug, drug_name = raw["drug"], raw.get("drug_name", "").strip()
    _refuse_first(here, rules.drug_problems(drug, drug_name))
    start = _date(raw["start"], f"{here}.start")
    end = _date(raw["end"], f"{here}.end") if "end" in raw else None
    _refuse_first(here, (
        rules.life_problem(start, field="start", what="course start", birth=birth, today=today),
        rules.life_problem(end, field="end", what="withdrawal", birth=birth, today=today),
        rules.span_problem(start, end),
    ))
    doses: list[DoseIn] = []
    for k, d in enumerate(raw.get("doses", [])):
        where = f"{here}.doses[{k}]"
        date = _date(d["date"], f"{where}.date")
        _refuse_first(where, (
            rules.life_problem(date, field="date", what="dose step", birth=birth, today=today),
            rules.step_problem(date, start, end),
        ))
        if doses and date <= doses[-1].date:
            raise DocumentError(
                f"{where}.date",
                f"{date.isoformat()} is not after the previous dose step; steps are in date order, one per day",
            )
        mg = _decimal(d["mg"], MG_PLACES, f"{where}.mg")
        _refuse_first(where, rules.dose_problems(drug, mg, d["every_days"]))
        doses.append(DoseIn(date, mg, d["every_days"]))
    holds: list[InterruptionIn] = []
    for k, h in enumerate(raw.get("interruptions", [])):
        where = f"{here}.interruptions[{k}]"
        hold = InterruptionIn(
            _date(h["start"], f"{where}.start"),
            _date(h["end"], f"{where}.end") if "end" in h else None,
            h.get("reason", "").strip(),
        )
        _refuse_first(where, (
            rules.life_problem(hold.start, field="start", what="interruption", birth=birth, today=today),
            rules.life_problem(hold.end, field="end", what="resumption", birth=birth, today=today),
        ))
        holds.append(hold)
    _refuse_first(here, rules.interruption_problems(start, end, holds), under="interruptions")
    return CourseIn(drug, start, end, raw.get("stop_reason", ""), doses, drug_name, holds)


def _parse_visit(here: str, raw: dict, birth: dt.date | None, today: dt.date) -> VisitIn:
    date = _date(raw["date"], f"{here}.date")
    _refuse(here, rules.life_problem(date, field="date", what="visit date", birth=birth, today=today))
    weight = _decimal(raw["weight_kg"], WEIGHT_PLACES, f"{here}.weight_kg") if "weight_kg" in raw else None
    _refuse(here, rules.weight_problem(weight))
    labs = []
    for k, lab in enumerate(raw.get("labs", [])):
        where = f"{here}.labs[{k}]"
        if lab["test"] == LabTest.PREGNANCY:
            value, result = None, lab["value"]
        else:
            value, result = _decimal(lab["value"], LAB_PLACES, f"{where}.value"), ""
        problem, unit = rules.lab_problem(lab["test"], value, result, lab.get("unit", ""))
        _refuse(where, problem)
        labs.append(LabIn(lab["test"], value, result, unit))
    events = []
    for k, e in enumerate(raw.get("adverse_events", [])):
        event = rules.AdverseEventInput(
            e["term"].strip(), e["grade"], e.get("term_other", "").strip(),
            e.get("attribution", ""), e.get("action", ""),
        )
        for name, message in rules.ae_problems(event):
            raise DocumentError(f"{here}.adverse_events[{k}].{name}", message.rstrip("."))
        other = event.term_other if event.term == "other" else ""
        events.append((event.term, event.grade, other, event.attribution, event.action))
    # Already validated by _exam_errors_first; parsing again is cheap and typed.
    exam = parse_exam(raw["clasi"]) if "clasi" in raw else None
    return VisitIn(date, exam, labs, events, raw.get("note", ""), weight)


# Limits of the JSON text itself, checked before anything else reads the tree:
# the format nests 8 levels deep (patients[].visits[].clasi.areas.<area>.<item>)
# and its largest integer is a few digits, so a document past these is not one.
MAX_DEPTH = 32
MAX_INT_DIGITS = 30
_SURROGATE = re.compile("[\ud800-\udfff]")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise DocumentError(
            "", f"a number with {len(text.lstrip('-'))} digits; numbers here have at most "
            f"{MAX_INT_DIGITS}"
        )
    return int(text)


# A lone surrogate comes from a \uD800-\uDFFF escape (strict UTF-8 cannot hold
# one): a scan of the text at C speed says whether the strings need looking at.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _tree_is_plain(doc: Any, strings_too: bool) -> bool:
    """True when nothing is nested past MAX_DEPTH (and, if asked, no text holds a
    surrogate). Iterative and path-free: it runs over every node of every import."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(value, dict):
            children = [*value.values(), *value] if strings_too else value.values()
        elif isinstance(value, list):
            children = value
        else:
            if strings_too and isinstance(value, str) and _SURROGATE.search(value):
                return False
            continue
        stack.extend((child, depth + 1) for child in children)
    return True


def _raise_first_problem(doc: Any) -> None:
    """Walk again, with paths, to name where the problem _tree_is_plain saw is."""
    stack: list[tuple[Any, tuple]] = [(doc, ())]
    while stack:
        value, where = stack.pop()
        if len(where) > MAX_DEPTH:
            raise DocumentError(path_text(where), f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise DocumentError(
                    path_text(where), "contains a lone surrogate (\\ud800-\\udfff), not text"
                )
        elif isinstance(value, dict):
            if any(_SURROGATE.search(key) for key in value):
                raise DocumentError(path_text(where), "a key contains a lone surrogate")
            stack.extend((child, (*where, key)) for key, child in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((child, (*where, i)) for i, child in reversed(list(enumerate(value))))


def loads_document(text: str | bytes) -> Any:
    """Decode JSON text; a syntax error becomes a DocumentError with line and column.

    Also refused here, before any other code walks the tree: integers longer
    than MAX_INT_DIGITS, nesting past MAX_DEPTH, lone surrogates."""
    try:
        if isinstance(text, bytes):
            # Strictly UTF-8 (json.loads alone would also take UTF-16 and let
            # encoded surrogates through with "surrogatepass").
            text = text.decode("utf-8-sig")
        doc = json.loads(text, parse_int=_int)
    except json.JSONDecodeError as error:
        raise DocumentError(
            "", f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except UnicodeDecodeError:
        raise DocumentError("", "not UTF-8 text") from None
    except RecursionError:
        raise DocumentError("", f"nested more than {MAX_DEPTH} levels deep") from None
    maybe_surrogates = bool(_SURROGATE_ESCAPE.search(text) or _SURROGATE.search(text))
    if not _tree_is_plain(doc, maybe_surrogates):
        _raise_first_problem(doc)
    return doc


# ------------------------------------------------------------------ import


def import_document(
    data: Any,
    *,
    clinic: Clinic | None = None,
    existing: Existing = "error",
    source: str = "",
    actor=None,
    progress: Progress | None = None,
    photos_dir: Path | None = None,
) -> ImportResult:
    """Validate and write a whole document, all or nothing.

    `clinic`: the clinic to import into (the browser's choice); None takes
    the document's "clinic", created if needed (the command line).
    `existing`: what to do with a patient whose code the clinic has already:
    "error" refuses the document, "update" replaces that patient's details,
    courses and visits, "skip" leaves the patient untouched (the demo loader).
    `photos_dir`: the folder of the photograph files a document references
    (photos/exchange.py: every file checked here, before anything is written).
    """
    from photos.exchange import PhotoDocumentError, PhotoImport

    parsed = parse_document(data, progress=progress)
    try:
        photos = PhotoImport.checked(data, photos_dir)
    except PhotoDocumentError as error:
        raise DocumentError(error.path, error.message) from None
    try:
        # Photograph files copied into storage are removed if the transaction fails.
        with photos.files_removed_on_failure(), transaction.atomic():
            result = _write(parsed, clinic, existing, source, actor, progress)
            if photos:
                result.photos = photos.write(result.clinic, skipped=result.skipped, actor=actor)
            return result
    except PhotoDocumentError as error:
        raise DocumentError(error.path, error.message) from None
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
        from photos.exchange import discard_replaced_files

        discard_replaced_files(replaced)  # their rows go with the visits, their files on commit
        with disable_auditlog():
            Course.objects.filter(patient_id__in=replaced).delete()
            Visit.objects.filter(patient_id__in=replaced).delete()
        patients = {p.pk: p for p in Patient.objects.filter(pk__in=replaced)}
        for p, pid, is_update in to_write:
            if is_update:
                for key, value in p.fields.items():
                    setattr(patients[pid], key, value)
                patients[pid].updated_at = timezone.now()
                # An edit form read before this replace is then refused as stale
                # (patients/concurrency.py); F() counts an edit that commits meanwhile.
                patients[pid].version = F("version") + 1
        Patient.objects.bulk_update(
            list(patients.values()), [*to_write[0][0].fields, "updated_at", "version"],
            batch_size=BATCH,
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
                drug_name=c.drug_name,
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
            rows[Interruption].extend(
                Interruption(
                    id=uuid.uuid4(), course_id=course.id, start=h.start, end=h.end, reason=h.reason
                )
                for h in c.interruptions
            )
        for v in p.visits:
            visit = Visit(
                id=uuid.uuid4(), patient_id=pid, date=v.date, note=v.note, weight_kg=v.weight_kg
            )
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
                AdverseEvent(
                    id=uuid.uuid4(), visit_id=visit.id, term=term, grade=grade,
                    term_other=other, attribution=attribution, action=action,
                )
                for term, grade, other, attribution, action in v.events
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
    from scoring.state import refresh_states  # the derived state, in this same transaction

    refresh_states(pid for _, pid, _ in to_write)
    return result


def _flush(rows: dict[type, list]) -> None:
    # Parents before children: the foreign keys are checked row by row on SQLite.
    for model in (Course, DoseStep, Interruption, Visit, Assessment, LabResult, AdverseEvent):
        if rows.get(model):
            model.objects.bulk_create(rows[model], batch_size=BATCH)


def _audit(to_write: list[tuple[PatientIn, uuid.UUID, bool]], source: str, actor) -> None:
    """One audit entry per imported patient.

    bulk_create sends no save signals, so django-auditlog logs nothing by
    itself; these entries carry {"patient": id} like every other entry of the
    patient, so the patient's history page shows the import.
    """
    content_type = ContentType.objects.get_for_model(Patient)
    what = source or "a cle-tracker document"
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
