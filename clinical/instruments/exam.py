"""Parse, validate and score a CLASI examination (pure: no Django import).

The examination arrives in the exchange format (docs/exchange-format.md, "A
CLASI examination"): a JSON object whose absent areas and items score 0.
:func:`parse_exam` turns it into an :class:`Exam` holding every applicable
cell, or raises an :class:`ExamError` naming the offending path;
:func:`score` turns an :class:`Exam` into a :class:`Score` whose
:meth:`Score.to_dict` is exactly the scorer's answer of the exchange format.

Nothing here knows CLASI's item names: the rules come from the
:class:`~clinical.instruments.instrument.Instrument` data, so a second instrument is a
definition, not a rewrite (clasi.md 1.4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast

from clinical.instruments.clasi import CLASI
from clinical.instruments.instrument import ACTIVITY, Instrument, Item
from clinical.instruments.registry import DEFAULT_INSTRUMENT, INSTRUMENTS

__all__ = [
    "Exam",
    "ExamError",
    "Score",
    "parse_exam",
    "parse_exam_all_errors",
    "score",
    "score_data",
    "severity_band",
]

_MISSING: Any = object()
_EMPTY: Mapping[str, Any] = MappingProxyType({})


# --------------------------------------------------------------------------
# Errors


class ExamError(ValueError):
    """A rejected examination: ``path`` names the offending place in the
    exchange format (``"areas.scalp.scarring"``; ``""`` for the document
    itself), ``message`` says what is wrong there."""

    def __init__(self, path: str, message: str) -> None:
        # args = (path, message) so the error pickles and reprs faithfully.
        super().__init__(path, message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def prefixed(self, prefix: str) -> ExamError:
        """The same error seen from an enclosing document, e.g.
        ``err.prefixed("patients[3].visits[2].clasi")``."""
        if not prefix:
            return self
        return ExamError(f"{prefix}.{self.path}" if self.path else prefix, self.message)


def _int_text(value: int) -> str:
    # str() of an int over 4300 digits raises ValueError (CPython's limit);
    # a message must never crash, so name huge numbers by their size.
    if value.bit_length() <= 64:
        return str(value)
    digits = int(value.bit_length() * math.log10(2)) + 1
    return f"{'-' if value < 0 else ''}a {digits}-digit number"


def _describe(value: object) -> str:
    """A value in JSON words, for messages: ``string "2"``, ``number 2.0``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {_int_text(value)}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'string "{shown}"'
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return f"a {type(value).__name__}"


def _key_text(key: object) -> str:
    """A mapping key as it appears in a path (JSON keys are strings)."""
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return _int_text(key)
    try:
        return repr(key)
    except Exception:  # a key whose repr fails must still be reported
        return f"<{type(key).__name__}>"


def _is_mapping(value: object) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


# --------------------------------------------------------------------------
# The per-instrument tables the hot paths use, derived once from the data.


@dataclass(frozen=True)
class _Plan:
    instrument: Instrument
    top_keys: frozenset[str]
    area_keys: frozenset[str]
    area_item_keys: frozenset[str]
    allowed: Mapping[str, frozenset[int]]
    rows: Mapping[str, Mapping[str, frozenset[int]]]  # area -> its items' values
    zero_cells: Mapping[str, Mapping[str, int]]  # shared, read-only
    zero_areas: Mapping[str, Mapping[str, int]]
    zero_exam_items: Mapping[str, int]
    zero_parts: Mapping[str, int]
    zero_by_area: Mapping[str, int]
    activity_keys: frozenset[str]
    activity_parts: tuple[str, ...]
    damage_parts: tuple[str, ...]


def _make_plan(instrument: Instrument) -> _Plan:
    zero_cells = {
        a: MappingProxyType(dict.fromkeys(keys, 0))
        for a, keys in instrument.applicable.items()
    }
    items = instrument.items
    return _Plan(
        instrument=instrument,
        top_keys=frozenset(
            {"instrument", "areas", instrument.modifier.key}
            | {i.key for i in instrument.exam_items}
        ),
        area_keys=frozenset(instrument.area_keys),
        area_item_keys=frozenset(i.key for i in instrument.area_items),
        allowed=MappingProxyType({i.key: frozenset(i.values) for i in items}),
        rows=MappingProxyType(
            {
                a: MappingProxyType({k: frozenset(instrument.item(k).values) for k in keys})
                for a, keys in instrument.applicable.items()
            }
        ),
        zero_cells=MappingProxyType(zero_cells),
        zero_areas=MappingProxyType(dict(zero_cells)),
        zero_exam_items=MappingProxyType({i.key: 0 for i in instrument.exam_items}),
        zero_parts=MappingProxyType({i.key: 0 for i in items}),
        zero_by_area=MappingProxyType(dict.fromkeys(instrument.area_keys, 0)),
        activity_keys=frozenset(i.key for i in items if i.kind == ACTIVITY),
        activity_parts=tuple(i.key for i in items if i.kind == ACTIVITY),
        damage_parts=tuple(i.key for i in items if i.kind != ACTIVITY),
    )


_PLANS: dict[str, _Plan] = {name: _make_plan(inst) for name, inst in INSTRUMENTS.items()}


# --------------------------------------------------------------------------
# The typed examination


@dataclass(frozen=True, kw_only=True, repr=False)
class Exam:
    """A validated examination holding EVERY applicable cell (0 when the
    examiner left it out), the once-per-examination items and the 12-month
    flag.

    Built by :func:`parse_exam`, :meth:`empty`, or directly::

        Exam(areas={"nose_malar": {"erythema": 3}}, exam_items={"recent_hair_loss": 1})

    Direct construction (and ``dataclasses.replace``) validates and fills in
    the zeros too, raising :class:`ExamError` with exchange-format paths.
    """

    instrument: str = DEFAULT_INSTRUMENT
    areas: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: _EMPTY)
    exam_items: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    dyspigmentation_lasts_12_months: bool = False

    def __post_init__(self) -> None:
        # One validation path for every way an Exam is made: build the
        # exchange-format object and parse it.
        data: dict[object, object] = {"instrument": self.instrument, "areas": self.areas}
        plan = _PLANS.get(self.instrument) if isinstance(self.instrument, str) else None
        if plan is not None:
            if not _is_mapping(self.exam_items):
                raise ExamError(
                    "exam_items", f"must be an object, not {_describe(self.exam_items)}"
                )
            for key in self.exam_items:
                if key not in plan.zero_exam_items:
                    raise ExamError(f"exam_items.{_key_text(key)}", "unknown examination item")
            data.update(self.exam_items)
            data[plan.instrument.modifier.key] = self.dyspigmentation_lasts_12_months
        errors: list[ExamError] = []
        exam = _parse(data, errors)
        if errors:
            raise errors[0]
        assert exam is not None
        object.__setattr__(self, "areas", exam.areas)
        object.__setattr__(self, "exam_items", exam.exam_items)

    def __hash__(self) -> int:
        return hash(
            (
                self.instrument,
                tuple(tuple(cells.values()) for cells in self.areas.values()),
                tuple(self.exam_items.values()),
                self.dyspigmentation_lasts_12_months,
            )
        )

    def __repr__(self) -> str:
        # The compact form: a failing test shows what was abnormal, not 52 zeros.
        return f"Exam({self.to_dict(compact=True)!r})"

    @classmethod
    def empty(cls, instrument: Instrument | str = CLASI) -> Exam:
        """The all-zero examination (nothing abnormal found)."""
        plan = _PLANS[instrument.name if isinstance(instrument, Instrument) else instrument]
        return _trusted_exam(plan, plan.zero_areas, plan.zero_exam_items, False)

    @property
    def definition(self) -> Instrument:
        """The instrument definition this examination was scored on."""
        return INSTRUMENTS[self.instrument]

    @property
    def version(self) -> str:
        return self.definition.version

    def value(self, area_key: str, item_key: str) -> int:
        """One cell; KeyError for an unknown or not-applicable cell."""
        return self.areas[area_key][item_key]

    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """The exchange-format JSON object, keys in form order.

        Full (default): every area with every applicable item, every exam
        item and the flag, so a reader sees explicit zeros.
        Compact: what the examiner found abnormal, the way a clinician writes
        it by hand: ``instrument`` and ``areas`` always; only non-zero items,
        only areas with a non-zero item; exam items only when non-zero; the
        flag only when true.  Both parse back to an equal :class:`Exam`.
        """
        flag_key = self.definition.modifier.key
        out: dict[str, Any] = {"instrument": self.instrument}
        if compact:
            areas: dict[str, dict[str, int]] = {}
            for area_key, cells in self.areas.items():
                found = {k: v for k, v in cells.items() if v}
                if found:
                    areas[area_key] = found
            out["areas"] = areas
            out.update((k, v) for k, v in self.exam_items.items() if v)
            if self.dyspigmentation_lasts_12_months:
                out[flag_key] = True
        else:
            out["areas"] = {a: dict(cells) for a, cells in self.areas.items()}
            out.update(self.exam_items)
            out[flag_key] = self.dyspigmentation_lasts_12_months
        return out


def _trusted_exam(
    plan: _Plan,
    areas: Mapping[str, Mapping[str, int]],
    exam_items: Mapping[str, int],
    flag: bool,
) -> Exam:
    # The parser has already validated and normalised every field; skip
    # __post_init__ so parsing does not validate twice (the bench matters).
    exam = object.__new__(Exam)
    object.__setattr__(exam, "instrument", plan.instrument.name)
    object.__setattr__(exam, "areas", areas)
    object.__setattr__(exam, "exam_items", exam_items)
    object.__setattr__(exam, "dyspigmentation_lasts_12_months", flag)
    return exam


# --------------------------------------------------------------------------
# Parsing and validation


def parse_exam(data: object) -> Exam:
    """Validate an exchange-format examination; raise the first
    :class:`ExamError` (form order) if anything is wrong."""
    errors: list[ExamError] = []
    exam = _parse(data, errors)
    if errors:
        raise errors[0]
    assert exam is not None
    return exam


def parse_exam_all_errors(data: object) -> tuple[Exam | None, list[ExamError]]:
    """Like :func:`parse_exam` but never raises: ``(exam, [])`` when valid,
    ``(None, errors)`` with EVERY error in form order otherwise, so a web
    form can put each message beside its field."""
    errors: list[ExamError] = []
    exam = _parse(data, errors)
    return (None, errors) if errors else (exam, errors)


def _parse(data: object, errors: list[ExamError]) -> Exam | None:
    # Error order (deterministic, form order): the document, instrument,
    # areas (form order, then unknown areas), exam items, the flag, then
    # unknown top-level keys.  An unknown instrument stops here: nothing
    # else can be judged without its definition.
    if not _is_mapping(data):
        errors.append(ExamError("", f"an examination must be a JSON object, not {_describe(data)}"))
        return None
    data = cast(Mapping, data)
    plan = _parse_instrument(data.get("instrument", _MISSING), errors)
    if plan is None:
        return None
    areas = _parse_areas(data.get("areas", _MISSING), plan, errors)
    exam_items = _parse_exam_items(data, plan, errors)
    flag = _parse_flag(data.get(plan.instrument.modifier.key, _MISSING), plan, errors)
    if not plan.top_keys.issuperset(data):
        _unknown_top_level(data, plan, errors)
    if errors:
        return None
    return _trusted_exam(plan, areas, exam_items, flag)


def _parse_instrument(raw: object, errors: list[ExamError]) -> _Plan | None:
    if raw is _MISSING:
        return _PLANS[DEFAULT_INSTRUMENT]
    if not isinstance(raw, str):
        errors.append(ExamError("instrument", f"must be a string, not {_describe(raw)}"))
        return None
    plan = _PLANS.get(raw)
    if plan is None:
        known = ", ".join(_PLANS)
        message = f"unknown instrument {_describe(raw)}; known: {known}"
        errors.append(ExamError("instrument", message))
    return plan


def _parse_areas(
    raw: object, plan: _Plan, errors: list[ExamError]
) -> Mapping[str, Mapping[str, int]]:
    if raw is _MISSING:
        return plan.zero_areas
    if not _is_mapping(raw):
        errors.append(
            ExamError("areas", f"must be an object of areas, not {_describe(raw)}")
        )
        return plan.zero_areas
    raw = cast(Mapping, raw)
    areas: dict[str, Mapping[str, int]] = {}
    for area_key, zero in plan.zero_cells.items():
        given = raw.get(area_key, _MISSING)
        # An area left out shares the read-only zero row: no copy.
        areas[area_key] = zero if given is _MISSING else _parse_area(area_key, given, plan, errors)
    if not plan.area_keys.issuperset(raw):
        known = ", ".join(plan.instrument.area_keys)
        for key in raw:
            if key not in plan.area_keys:
                errors.append(
                    ExamError(f"areas.{_key_text(key)}", f"unknown area; the areas are {known}")
                )
    return MappingProxyType(areas)


def _parse_area(
    area_key: str, given: object, plan: _Plan, errors: list[ExamError]
) -> Mapping[str, int]:
    # Fast path for the usual, valid area: only the items the examiner wrote
    # are looked at.  Anything odd goes to the careful path, which reports
    # every problem of the area in form order.
    if type(given) is dict:
        row = plan.rows[area_key]
        cells = dict(plan.zero_cells[area_key])
        for key, value in given.items():
            allowed = row.get(key)
            if allowed is None or type(value) is not int or value not in allowed:
                break
            cells[key] = value
        else:
            return MappingProxyType(cells)
    return _parse_area_carefully(area_key, given, plan, errors)


def _parse_area_carefully(
    area_key: str, given: object, plan: _Plan, errors: list[ExamError]
) -> Mapping[str, int]:
    zero = plan.zero_cells[area_key]
    if not _is_mapping(given):
        message = f"must be an object of item scores, not {_describe(given)}"
        errors.append(ExamError(f"areas.{area_key}", message))
        return zero
    given = cast(Mapping, given)
    cells = dict(zero)
    instrument = plan.instrument
    for item in instrument.area_items:
        value = given.get(item.key, _MISSING)
        if value is _MISSING:
            continue
        if item.key not in zero:
            reason = instrument.not_applicable_reason(area_key, item.key)
            errors.append(ExamError(f"areas.{area_key}.{item.key}", reason))
        elif type(value) is int and value in plan.allowed[item.key]:
            cells[item.key] = value
        else:
            cells[item.key] = _checked_slowly(value, item, f"areas.{area_key}.{item.key}", errors)
    if not plan.area_item_keys.issuperset(given):
        _unknown_area_items(area_key, given, plan, errors)
    return MappingProxyType(cells)


def _unknown_area_items(
    area_key: str, given: Mapping, plan: _Plan, errors: list[ExamError]
) -> None:
    instrument = plan.instrument
    known = ", ".join(instrument.applicable[area_key])
    for key in given:
        if key in plan.area_item_keys:
            continue
        path = f"areas.{area_key}.{_key_text(key)}"
        if isinstance(key, str) and instrument.is_exam_item(key):
            # Mucosa, hair loss, alopecia and scalp scarring are scored ONCE
            # per examination (clasi.md 1.3), never area by area.
            message = f"scored once per examination, not per area; put {key} at the top level"
        else:
            message = f"unknown item; the items of this area are {known}"
        errors.append(ExamError(path, message))


def _checked_slowly(value: object, item: Item, path: str, errors: list[ExamError]) -> int:
    """The rare path: an int subclass (accepted as its int value) or an error."""
    if isinstance(value, int) and not isinstance(value, bool):
        if int(value) in item.values:
            return int(value)
        errors.append(ExamError(path, f"{_int_text(value)} is not one of {item.values_text}"))
    else:
        # Booleans and floats are refused even when they equal an allowed
        # integer (True == 1, 2.0 == 2): the format wants JSON integers.
        errors.append(
            ExamError(path, f"must be an integer ({item.values_text}), not {_describe(value)}")
        )
    return 0


def _parse_exam_items(
    data: Mapping, plan: _Plan, errors: list[ExamError]
) -> Mapping[str, int]:
    found: dict[str, int] | None = None
    for item in plan.instrument.exam_items:
        value = data.get(item.key, _MISSING)
        if value is _MISSING:
            continue
        if found is None:
            found = dict(plan.zero_exam_items)
        if type(value) is int and value in plan.allowed[item.key]:
            found[item.key] = value
        else:
            found[item.key] = _checked_slowly(value, item, item.key, errors)
    return plan.zero_exam_items if found is None else MappingProxyType(found)


def _parse_flag(raw: object, plan: _Plan, errors: list[ExamError]) -> bool:
    if raw is _MISSING:
        return False
    if type(raw) is bool:
        return raw
    key = plan.instrument.modifier.key
    errors.append(ExamError(key, f"must be true or false, not {_describe(raw)}"))
    return False


def _unknown_top_level(data: Mapping, plan: _Plan, errors: list[ExamError]) -> None:
    for key in data:
        if key in plan.top_keys:
            continue
        if isinstance(key, str) and key in plan.area_keys:
            message = f"an area: put it under areas ({{\"areas\": {{\"{key}\": ...}}}})"
        elif isinstance(key, str) and key in plan.area_item_keys:
            message = "an area item: score it under areas.<area>"
        else:
            known = ", ".join(sorted(plan.top_keys))
            message = f"unknown key; an examination has {known}"
        errors.append(ExamError(_key_text(key), message))


# --------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True, kw_only=True)
class Score:
    """The two CLASI scores of one examination, never added together.

    ``activity_parts``/``damage_parts`` are the subtotals trials analyse
    (``damage_parts["dyspigmentation"]`` is after doubling); ``area_activity``
    and ``area_damage`` are per-area points for a body map.  ``area_damage``
    includes the doubling and puts scalp scarring on the scalp, so it sums
    to ``damage``; ``area_activity`` holds the area items only, so it sums
    to ``activity`` minus the once-per-examination activity items.
    """

    instrument: str
    activity: int
    damage: int
    severity: str
    activity_parts: Mapping[str, int]
    damage_parts: Mapping[str, int]
    area_activity: Mapping[str, int]
    area_damage: Mapping[str, int]

    def __hash__(self) -> int:
        return hash((self.instrument, tuple(self.activity_parts.items()),
                     tuple(self.damage_parts.items())))

    @property
    def version(self) -> str:
        return INSTRUMENTS[self.instrument].version

    def to_dict(self) -> dict[str, Any]:
        """Exactly the scorer's answer of the exchange format; no other key."""
        return {
            "instrument": self.instrument,
            "activity": self.activity,
            "damage": self.damage,
            "severity": self.severity,
            "activity_parts": dict(self.activity_parts),
            "damage_parts": dict(self.damage_parts),
        }


def severity_band(activity: int, instrument: Instrument = CLASI) -> str:
    """``"mild"`` 0-9, ``"moderate"`` 10-20, ``"severe"`` 21-70 (clasi.md 2,
    Klein 2011; activity only: damage has no bands).  ValueError outside."""
    return instrument.severity_band(activity).key


def score(exam: Exam) -> Score:
    """Score a validated examination (clasi.md 1.4)."""
    plan = _PLANS[exam.instrument]
    instrument = plan.instrument
    modifier = instrument.modifier
    flagged = exam.dyspigmentation_lasts_12_months
    activity_keys = plan.activity_keys
    zero_cells = plan.zero_cells
    parts = dict(plan.zero_parts)  # raw subtotals: item key -> sum over areas
    area_activity = dict(plan.zero_by_area)
    area_damage = dict(plan.zero_by_area)
    for area_key, cells in exam.areas.items():
        if cells is zero_cells[area_key]:
            continue  # an area the examiner left out: shared zero row
        act = dmg = 0
        for key, value in cells.items():
            if value:
                parts[key] += value
                if key in activity_keys:
                    act += value
                else:
                    dmg += value
        if flagged:
            dmg += cells.get(modifier.item_key, 0) * (modifier.factor - 1)
        area_activity[area_key] = act
        area_damage[area_key] = dmg
    for item in instrument.exam_items:
        value = exam.exam_items[item.key]
        parts[item.key] = value  # scored once per examination, not per area
        if item.body_area is not None and item.kind != ACTIVITY:
            area_damage[item.body_area] += value
    # The 12-month flag doubles the dyspigmentation subtotal and nothing else.
    if flagged:
        parts[modifier.item_key] *= modifier.factor
    activity_parts = {k: parts[k] for k in plan.activity_parts}
    damage_parts = {k: parts[k] for k in plan.damage_parts}
    activity = sum(activity_parts.values())
    return Score(
        instrument=instrument.name,
        activity=activity,
        damage=sum(damage_parts.values()),
        severity=instrument.severity_band(activity).key,
        activity_parts=MappingProxyType(activity_parts),
        damage_parts=MappingProxyType(damage_parts),
        area_activity=MappingProxyType(area_activity),
        area_damage=MappingProxyType(area_damage),
    )


def score_data(data: object) -> Score:
    """Parse and score an exchange-format examination (raises ExamError)."""
    return score(parse_exam(data))
