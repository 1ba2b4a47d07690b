"""Import of the exchange format: `cle-tracker/2` and `cle-tracker/1` -> the record.

Contract: ../shared/docs/exchange-format.md. Export lives in export.py.

- The document is read ONE PATIENT AT A TIME (patients.exchange.stream, or the
  list of an already decoded dict): the top-level members are checked, then each
  patient against the JSON Schema of version 2 kept beside this file (its
  patient definition), the version 1 limits, clinical.instruments.exam's own
  checks of every examination, then the record's rules. DocumentError names the
  path of the FIRST error in document order, e.g. `patients[3].visits[2].clasi.
  areas.ears.erythema: 5 is not one of 0, 1, 2, 3`. The record's rules (drugs,
  dose ranges, overlaps, interruptions, dates within the patient's life, lab
  units) are patients.services' check functions, called here on the parsed rows
  without a query per row: no rule is written twice.
- `import_document(...)` checks and writes in ONE transaction, in batches of a
  few thousand visits with bulk_create, so memory stays flat whatever the
  document's size and the first error rolls everything back; the CLASI totals
  still come from the one scorer via scoring.services.assessment_values.
- `parse_document(data)` checks a whole document and returns its parsed rows.

A version 1 document is a version 2 document with lenalidomide only and no
version 2 key; a version 2 key in it is an error with its path.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from collections import defaultdict
from contextlib import contextmanager
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from auditlog.context import disable_auditlog
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError as SchemaError

from audit.models import AuditEntry as LogEntry
from clinic.models import Clinic
from patients import services as rules
from patients.dates import implausible
from patients.exchange import stream
from patients.exchange.stream import _SURROGATE, _SURROGATE_ESCAPE, MAX_DEPTH
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
from clinical import ctcae
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
    # Every patient written (created or replaced), for what follows the import.
    patient_ids: list[uuid.UUID] = field(default_factory=list)

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
    # Both versions are read; the version 1 limits are checked by _v2_places.
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


def _patient_validator() -> Draft202012Validator:
    return _validators()[1]


@lru_cache(maxsize=1)
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    # The same relaxed schema, applied to one patient at a time (the document
    # is read patient by patient; see _Checked).
    # The patient's definition is inlined (each "$ref" replaced by what it
    # names): resolving references costs a third of the validation time.
    relaxed = _validator().schema
    definitions = relaxed["$defs"]

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if len(node) == 1 and ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    one = inline(definitions["patient"])
    if "$ref" in json.dumps(one):
        # A reference the inlining cannot follow: resolve it as the schema says.
        one = {key: relaxed[key] for key in ("$schema", "$id") if key in relaxed}
        one.update({"$defs": definitions, "$ref": "#/$defs/patient"})
    return _validator(), _StrictValidator(one, format_checker=Draft202012Validator.FORMAT_CHECKER)


Found = tuple[tuple[int, ...], DocumentError]


def _nul_place(value: Any, where: tuple = ()) -> tuple | None:
    """Where the first text holding a NUL character (PostgreSQL cannot store one) is."""
    stack: list[tuple[Any, tuple]] = [(value, where)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return where
        elif isinstance(value, dict):
            stack.extend((child, (*where, key)) for key, child in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((child, (*where, i)) for i, child in reversed(list(enumerate(value))))
    return None


def _nul_error_first(doc: Any) -> Found | None:
    where = _nul_place(doc)
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


def _v2_places(patient: dict) -> list[tuple[str | int, ...]]:
    """Version 2 keys and values in one patient of a version 1 document."""
    found: list[tuple[str | int, ...]] = [(k,) for k in _V2_KEYS["patient"] if k in patient]
    for k, course in enumerate(_list(patient.get("courses"))):
        if isinstance(course, dict):
            found += [("courses", k, key) for key in _V2_KEYS["course"] if key in course]
            if course.get("drug") not in _V1_DRUGS and isinstance(course.get("drug"), str):
                found.append(("courses", k, "drug"))
    for j, visit in enumerate(_list(patient.get("visits"))):
        if isinstance(visit, dict):
            found += [("visits", j, key) for key in _V2_KEYS["visit"] if key in visit]
            for m, lab in enumerate(_list(visit.get("labs"))):
                if isinstance(lab, dict) and lab.get("test") == LabTest.UPCR:
                    found.append(("visits", j, "labs", m, "test"))
            for m, event in enumerate(_list(visit.get("adverse_events"))):
                if isinstance(event, dict):
                    found += [("visits", j, "adverse_events", m, key)
                              for key in _V2_KEYS["adverse_event"] if key in event]
    return found


def _patient_error(raw: Any, i: int, version: Any) -> DocumentError | None:
    """The first problem of patients[i] in document order: the schema, the CLASI
    exams (clinical.instruments.exam's own messages), NUL characters, and a
    version 2 key in a version 1 document."""
    prefix = ("patients", i)
    found: list[Found] = []
    for error in _patient_validator().iter_errors(raw):
        parts, message = _describe_schema_error(error)
        found.append((_position(raw, parts), DocumentError(path_text((*prefix, *parts)), message)))
    if isinstance(raw, dict):
        for j, visit in enumerate(_list(raw.get("visits"))):
            if isinstance(visit, dict) and isinstance(visit.get("clasi"), dict):
                try:
                    parse_exam(visit["clasi"])
                except ExamError as error:
                    where = ("visits", j, "clasi")
                    err = error.prefixed(path_text((*prefix, *where)))
                    found.append((_position(raw, where), DocumentError(err.path, err.message)))
                    break
        if version == FORMAT_V1:
            places = _v2_places(raw)
            if places:
                where = min(places, key=lambda parts: _position(raw, parts))
                value = where[-1] if where[-1] not in ("drug", "test") else _json(_at(raw, where))
                found.append((_position(raw, where), DocumentError(
                    path_text((*prefix, *where)),
                    f"{value} belongs to {FORMAT}, but the document says \"format\": \"{FORMAT_V1}\"",
                )))
    where = _nul_place(raw)
    if where is not None:
        found.append((_position(raw, where), DocumentError(
            path_text((*prefix, *where)), "contains a NUL character, which cannot be stored"
        )))
    return min(found, key=lambda pair: pair[0])[1] if found else None


def _header_errors(members: dict[str, Any], patients_at: int | None) -> list[Found]:
    """Problems of the top-level object but its patients, each with its place.

    `members` holds the top-level members but "patients", in document order;
    the patients are checked one by one (_patient_error) and stand here as an
    empty list at their place, so that each problem keeps its place in the
    document's order."""
    doc: dict[str, Any] = {}
    for n, (key, value) in enumerate(members.items()):
        if n == patients_at:
            doc["patients"] = []
        doc[key] = value
    if patients_at is not None and "patients" not in doc:
        doc["patients"] = []
    found: list[Found] = []
    for error in _validators()[0].iter_errors(doc):
        parts, message = _describe_schema_error(error)
        found.append((_position(doc, parts), DocumentError(path_text(parts), message)))
    nul = _nul_error_first(doc)
    if nul is not None:
        found.append(nul)
    return found


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _at(doc: Any, parts: Iterable[str | int]) -> Any:
    for part in parts:
        doc = doc[part]
    return doc


class _Document:
    """A document read member by member, each patient on its own.

    A decoded dict (the tests, the demo loader) and JSON text (bytes, a
    memoryview, str, a path or a binary file: the import command and the
    browser's background jobs) go through the same steps; text is decoded one
    patient at a time (patients.exchange.stream), never whole.
    """

    def __init__(self, data: Any) -> None:
        self.text = isinstance(data, (bytes, bytearray, memoryview, str, PathLike)) or hasattr(
            data, "read"
        )
        self.data = data

    def members(self) -> Iterator[tuple]:
        if not self.text:
            doc = self.data
            if not isinstance(doc, dict):
                yield stream.ROOT, None, doc
                return
            for key, value in doc.items():
                if key == "patients" and isinstance(value, list):
                    yield stream.PATIENTS, key, None
                    for i, patient in enumerate(value):
                        yield stream.PATIENT, i, patient
                else:
                    yield stream.MEMBER, key, value
            return
        # A file object is shared by the read-ahead (others, patient_count):
        # each reading starts at the beginning and puts the position back.
        at = self.data.tell() if hasattr(self.data, "seek") else None
        if at is not None:
            self.data.seek(0)
        window = stream.Window(self.data, _int)
        try:
            for kind, key, value in stream.members(window):
                # Refused here, before any other code walks the value (as
                # loads_document does for a whole tree): nesting past
                # MAX_DEPTH, lone surrogates.
                where = () if kind == stream.ROOT else ("patients", key) if kind == stream.PATIENT else (key,)
                if not _tree_is_plain(value, window.maybe_surrogates, depth=len(where)):
                    _raise_first_problem(value, where)
                if kind == stream.MEMBER and _SURROGATE.search(key):
                    raise DocumentError("", "a key contains a lone surrogate")
                yield kind, key, value
        except stream.JSONTextError as error:
            raise DocumentError("", error.message) from None
        finally:
            window.close()
            if at is not None:
                self.data.seek(at)

    def others(self) -> dict[str, Any]:
        """The top-level members but the patients (read ahead when they follow the patients)."""
        return {key: value for kind, key, value in self.members() if kind == stream.MEMBER}

    def patient_count(self) -> int:
        if not self.text:
            return len(_list(self.data.get("patients"))) if isinstance(self.data, dict) else 0
        return sum(1 for kind, _, _ in self.members() if kind == stream.PATIENT)


class _Checked:
    """Walks a _Document: checks the top level, then each patient as it comes,
    and hands on each patient's parsed rows; DocumentError names the FIRST
    problem in document order (a problem of a member after the patients is
    raised when the patients have all passed)."""

    def __init__(
        self, document: _Document, today: dt.date, *, count: bool = False, photos=None
    ) -> None:
        self.document = document
        self.photos = photos  # photos.exchange.PhotoImport: reads each patient's references
        self.today = today
        self.counting = count  # read the patients ahead once to know their number (progress)
        self.header: dict[str, Any] = {}
        self.count = 0  # patients checked so far
        self.total = 0

    def patients(self) -> Iterator[PatientIn]:
        seen_codes: dict[str, int] = {}
        members: dict[str, Any] = {}
        patients_at: int | None = None
        later: list[Found] = []
        version: Any = None
        for kind, key, value in self.document.members():
            if kind == stream.ROOT:
                raise DocumentError("", "a cle-tracker document is a JSON object")
            if kind == stream.MEMBER:
                if key in members or (key == "patients" and patients_at is not None):
                    raise DocumentError(key, "appears twice; a key appears once")
                members[key] = value
                continue
            if kind == stream.PATIENTS:
                patients_at = len(members)
                known = dict(members)
                if not {"format", "clinic"} <= known.keys():
                    # They follow the patients: read ahead for them (the import
                    # needs the version and the clinic before the first patient).
                    known.update(
                        (k, v) for k, v in self.document.others().items() if k not in known
                    )
                found = _header_errors(known, patients_at)
                before = [f for f in found if f[0] < (patients_at,)]
                if before:
                    raise min(before, key=lambda pair: pair[0])[1]
                # A problem after the patients fails the import at the end; meanwhile
                # the patients are only checked (nothing is handed on to be written).
                later = found
                self.header = known
                version = known.get("format")
                if self.counting:
                    self.total = self.document.patient_count()
                continue
            i, raw = key, value
            error = _patient_error(raw, i, version)
            if error is not None:
                raise error
            patient = _parse_patient(i, raw, seen_codes, self.today, version == FORMAT_V1)
            if self.photos is not None:
                self.photos.read_patient(i, raw)
            self.count = i + 1
            if not later:
                yield patient
        found = _header_errors(members, patients_at)
        if found:
            raise min(found, key=lambda pair: pair[0])[1]
        if patients_at is None:
            self.header = members

    @property
    def clinic_name(self) -> str:
        return self.header["clinic"].strip()


def parse_document(
    data: Any, *, today: dt.date | None = None, progress: Progress | None = None
) -> ParsedDocument:
    """Validate a cle-tracker/2 or /1 document (decoded, or its JSON text) and return
    its parsed rows; DocumentError names the first problem. (import_document does
    not keep the rows: it writes them patient batch by patient batch.)"""
    checked = _Checked(_Document(data), today or timezone.localdate(), count=progress is not None)
    patients: list[PatientIn] = []
    for patient in checked.patients():
        patients.append(patient)
        if progress is not None and (len(patients) % 50 == 1 or len(patients) == checked.total):
            progress("checking", len(patients), checked.total)
    return ParsedDocument(clinic=checked.clinic_name, patients=patients)


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


def _parse_patient(
    i: int, raw: dict, seen_codes: dict[str, int], today: dt.date, v1: bool = False
) -> PatientIn:
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
        visit = _parse_visit(f"{here}.visits[{j}]", v, birth, today, v1)
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


def _parse_visit(
    here: str, raw: dict, birth: dt.date | None, today: dt.date, v1: bool = False
) -> VisitIn:
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
        term, other = e["term"].strip(), e.get("term_other", "").strip()
        listed = ctcae.lookup(term)
        if listed is not None:
            term = listed.term  # the list's own spelling, as the form keeps it
        elif v1 and term != "other":
            # Version 1 knew no term list: a free-text term is kept as "other" with
            # its words (clasi.md 5.4), never refused or dropped.
            term, other = "other", term
        event = rules.AdverseEventInput(
            term, e["grade"], other, e.get("attribution", ""), e.get("action", "")
        )
        for name, message in rules.ae_problems(event):
            raise DocumentError(f"{here}.adverse_events[{k}].{name}", message.rstrip("."))
        other = event.term_other if event.term == "other" else ""
        events.append((event.term, event.grade, other, event.attribution, event.action))
    # Already validated by _patient_error; parsing again is cheap and typed.
    exam = parse_exam(raw["clasi"]) if "clasi" in raw else None
    return VisitIn(date, exam, labs, events, raw.get("note", ""), weight)


MAX_INT_DIGITS = 30


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise DocumentError(
            "", f"a number with {len(text.lstrip('-'))} digits; numbers here have at most "
            f"{MAX_INT_DIGITS}"
        )
    return int(text)


def _tree_is_plain(doc: Any, strings_too: bool, depth: int = 0) -> bool:
    """True when nothing is nested past MAX_DEPTH (and, if asked, no text holds a
    surrogate). Iterative and path-free: it runs over every node of every import.
    `depth`: how deep `doc` lies in the document."""
    stack: list[tuple[Any, int]] = [(doc, depth)]
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


def _raise_first_problem(doc: Any, where: tuple = ()) -> None:
    """Walk again, with paths, to name where the problem _tree_is_plain saw is."""
    stack: list[tuple[Any, tuple]] = [(doc, where)]
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
    """Check and write a whole document, all or nothing.

    `data`: the decoded document, or its JSON text (bytes, a memoryview, str,
    a path or a binary file), which is then read one patient at a time
    (patients.exchange.stream): memory stays flat whatever the document's size.
    Each patient is checked (the schema, the exams, the record's rules) and
    written in batches (bulk_create) inside ONE transaction: the first problem
    in document order rolls everything back.
    `clinic`: the clinic to import into (the browser's choice); None takes
    the document's "clinic", created if needed (the command line).
    `existing`: what to do with a patient whose code the clinic has already:
    "error" refuses the document, "update" replaces that patient's details,
    courses and visits, "skip" leaves the patient untouched (the demo loader).
    `photos_dir`: the folder of the photograph files a document references
    (photos/exchange.py: every file checked here, before anything is written).
    """
    from photos.exchange import PhotoDocumentError, PhotoImport
    from scoring.state import refresh_states

    # Counting the patients for the progress reads the text once more: only for
    # a progress that shows it (a terminal progress bar is off in a pipe or a log).
    counting = progress is not None and getattr(progress, "enabled", True)
    # The photograph references are read patient by patient as the document
    # streams by; their files are checked once every patient is (photos/exchange.py).
    photos = PhotoImport()
    checked = _Checked(_Document(data), timezone.localdate(), count=counting, photos=photos)
    try:
        # Photograph files copied into storage are removed if the transaction fails.
        with photos.files_removed_on_failure(), transaction.atomic():
            writer = _Writer(clinic, existing, source, actor)
            for patient in checked.patients():
                writer.add(patient, checked)
                if progress is not None and writer.flushed:
                    progress("writing", checked.count, checked.total)
            result = writer.finish(checked)
            photos.check_files(photos_dir)
            if photos:
                result.photos = photos.write(result.clinic, skipped=result.skipped, actor=actor)
            if progress is not None:
                progress("writing", checked.count, checked.total)
            # The derived state (scoring.state), in this same transaction.
            refresh_states(result.patient_ids)
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


class _Writer:
    """Writes checked patients in batches of about FLUSH_VISITS visits (bulk_create),
    so that neither the parsed rows nor the model instances pile up."""

    def __init__(self, clinic: Clinic | None, existing: Existing, source: str, actor) -> None:
        self.clinic = clinic
        self.existing = existing
        self.source = source
        self.actor = actor
        self.result: ImportResult | None = None
        self.known: dict[str, uuid.UUID] = {}
        self.batch: list[tuple[PatientIn, uuid.UUID, bool]] = []
        self.visits = 0
        self.flushed = False

    def _start(self, checked: _Checked) -> ImportResult:
        if self.result is None:
            if self.clinic is None:
                self.clinic, _ = Clinic.objects.get_or_create(name=checked.clinic_name)
            self.result = ImportResult(clinic=self.clinic)
            self.known = dict(Patient.objects.filter(clinic=self.clinic).values_list("code", "id"))
        return self.result

    def add(self, p: PatientIn, checked: _Checked) -> None:
        result = self._start(checked)
        self.flushed = False
        if p.code not in self.known:
            self.batch.append((p, uuid.uuid4(), False))
            result.created.append(p.code)
        elif self.existing == "update":
            self.batch.append((p, self.known[p.code], True))
            result.updated.append(p.code)
        elif self.existing == "skip":
            result.skipped.append(p.code)
            return
        else:
            raise DocumentError(
                f"patients[{p.index}].code",
                f"{self.clinic.name} already has a patient {_json(p.code)}; "
                "import with update to replace that patient's records",
            )
        self.visits += len(p.visits)
        if self.visits >= FLUSH_VISITS or len(self.batch) >= BATCH:
            self._flush()

    def finish(self, checked: _Checked) -> ImportResult:
        result = self._start(checked)
        self._flush()
        return result

    def _flush(self) -> None:
        if self.batch:
            _write(self.batch, self.result)
            _audit(self.batch, self.source, self.actor)
            self.result.patient_ids.extend(pid for _, pid, _ in self.batch)
        self.batch = []
        self.visits = 0
        self.flushed = True


def _write(to_write: list[tuple[PatientIn, uuid.UUID, bool]], result: ImportResult) -> None:
    """One batch of patients with their courses and visits."""
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
            Patient(id=pid, clinic=result.clinic, code=p.code, **p.fields)
            for p, pid, is_update in to_write
            if not is_update
        ],
        batch_size=BATCH,
    )
    rows: dict[type, list] = defaultdict(list)
    for p, pid, _ in to_write:
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
    _flush(rows)


def _flush(rows: dict[type, list]) -> None:
    # Parents before children: the foreign keys are checked row by row on SQLite.
    with _server_side_binding():
        for model in (Course, DoseStep, Interruption, Visit, Assessment, LabResult, AdverseEvent):
            if rows.get(model):
                model.objects.bulk_create(rows[model], batch_size=BATCH)


@lru_cache(maxsize=1)
def _bulk_cursor() -> type:
    """Django's server-side binding cursor, its arrays sent in binary.

    In text format psycopg escapes every element of an array with a regular
    expression; a JSON value (an exam's items) has dozens of quotes to escape,
    and that was a quarter of an import's CPU time. In binary format each
    element is sent as it is. Only this cursor's own adapters change
    (psycopg copies the connection's per cursor)."""
    from django.db.backends.postgresql.base import ServerBindingCursor
    from psycopg.types.array import ListBinaryDumper

    class BulkInsertCursor(ServerBindingCursor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.adapters.register_dumper(list, ListBinaryDumper)

    return BulkInsertCursor


@contextmanager
def _server_side_binding() -> Iterator[None]:
    """Send bulk_create's parameters to PostgreSQL as parameters, not as SQL text.

    On PostgreSQL bulk_create sends one array per column (INSERT ... UNNEST);
    psycopg's client-side binding (Django's default) quotes every element of
    those arrays into the SQL text with a regular expression, which took a
    third of an import's time. Only these INSERTs use the server-side binding
    cursor; every other query keeps the connection's own."""
    raw = connection.connection if connection.vendor == "postgresql" else None
    if raw is None:
        yield
        return
    before = raw.cursor_factory
    raw.cursor_factory = _bulk_cursor()
    try:
        yield
    finally:
        raw.cursor_factory = before


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
