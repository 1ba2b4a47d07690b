"""What an instrument is, as data (pure: no Django import).

Everything the entry form, the body map, the exports, the validator and the
scorer need to know about the instrument lives here, once: the areas in form
order, the items with their allowed values and clinical labels, the cells that
do not apply, the dyspigmentation modifier and the severity bands.  The code
in ``clinical/instruments/exam.py`` only walks this data, so a second instrument
(RCLASI, clasi.md 1.4) is one definition file beside ``clasi.py``, listed in
``registry.py``, not a rewrite.

Source: docs/clasi.md sections 1-2 (Albrecht 2005; bands from Klein 2011).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Literal

ItemKind = Literal["activity", "damage"]
ACTIVITY: ItemKind = "activity"
DAMAGE: ItemKind = "damage"


def frozen_map(mapping: Mapping) -> Mapping:
    """A read-only view of a private copy: instrument data must not drift."""
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Area:
    """A body area of the form; the examiner scores its worst lesion."""

    key: str
    label: str
    help: str = ""


@dataclass(frozen=True)
class Item:
    """One scored item.

    ``values`` are the allowed integers in ascending order; they are derived
    from ``value_labels`` by :func:`item` so the two can never disagree.
    ``body_area`` is set for an item scored once per examination whose points
    a body map draws on one area (scalp scarring on the scalp).
    """

    key: str
    label: str
    kind: ItemKind
    values: tuple[int, ...]
    value_labels: Mapping[int, str] = field(hash=False)
    help: str = ""
    body_area: str | None = None

    @property
    def max_value(self) -> int:
        return self.values[-1]

    @property
    def values_text(self) -> str:
        """``"0, 1, 2, 3"``: the wording validation messages use."""
        return ", ".join(str(v) for v in self.values)

    def allows(self, value: object) -> bool:
        """True for an allowed value; booleans and floats are never allowed."""
        return type(value) is int and value in self.values

    def label_of(self, value: int) -> str:
        return self.value_labels[value]


@dataclass(frozen=True)
class Modifier:
    """A yes/no answer that multiplies one item's subtotal (clasi.md 1.3-1.4)."""

    key: str
    label: str
    help: str
    item_key: str
    factor: int


@dataclass(frozen=True)
class SeverityBand:
    """An activity band, inclusive at both ends (clasi.md 2, Klein 2011)."""

    key: str
    label: str
    low: int
    high: int

    def __contains__(self, activity: object) -> bool:
        return isinstance(activity, int) and self.low <= activity <= self.high


@dataclass(frozen=True)
class Cell:
    """One (area, item) square of the form grid; ``applies`` is False for N/A."""

    area: Area
    item: Item
    applies: bool


def item(
    key: str,
    label: str,
    kind: ItemKind,
    value_labels: Mapping[int, str],
    help: str = "",
    body_area: str | None = None,
) -> Item:
    """Build an :class:`Item` whose allowed values are its labelled values."""
    return Item(
        key=key,
        label=label,
        kind=kind,
        values=tuple(sorted(value_labels)),
        value_labels=frozen_map(dict(sorted(value_labels.items()))),
        help=help,
        body_area=body_area,
    )


@dataclass(frozen=True)
class Instrument:
    """An instrument definition: areas x area items (minus N/A cells), plus
    items scored once per examination, one modifier and the activity bands."""

    name: str
    version: str
    title: str
    help: str
    areas: tuple[Area, ...]
    area_items: tuple[Item, ...]
    exam_items: tuple[Item, ...]
    not_applicable: frozenset[tuple[str, str]]
    not_applicable_reasons: Mapping[tuple[str, str], str] = field(hash=False)
    modifier: Modifier
    severity_bands: tuple[SeverityBand, ...]

    def __post_init__(self) -> None:
        # Catch a broken definition when it is written, not at a patient's visit.
        keys = [i.key for i in self.items]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.name}: duplicate item keys in {keys}")
        if len({a.key for a in self.areas}) != len(self.areas):
            raise ValueError(f"{self.name}: duplicate area keys")
        for area_key, item_key in self.not_applicable:
            self.area(area_key), self.area_item(item_key)
        if set(self.not_applicable_reasons) - self.not_applicable:
            raise ValueError(f"{self.name}: a reason is given for an applicable cell")
        if self.area_item(self.modifier.item_key).kind != DAMAGE:
            raise ValueError(f"{self.name}: the modifier must scale a damage area item")
        for i in self.exam_items:
            if i.body_area is not None:
                self.area(i.body_area)

    # -- lookup -----------------------------------------------------------

    @cached_property
    def _areas_by_key(self) -> Mapping[str, Area]:
        return MappingProxyType({a.key: a for a in self.areas})

    @cached_property
    def _items_by_key(self) -> Mapping[str, Item]:
        return MappingProxyType({i.key: i for i in self.items})

    @property
    def items(self) -> tuple[Item, ...]:
        """Area items then exam items: the order of subtotals in a score."""
        return self.area_items + self.exam_items

    @cached_property
    def area_keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.areas)

    def area(self, key: str) -> Area:
        """The area with this key; KeyError for an unknown key."""
        return self._areas_by_key[key]

    def item(self, key: str) -> Item:
        """The area item or exam item with this key; KeyError if unknown."""
        return self._items_by_key[key]

    def area_item(self, key: str) -> Item:
        found = self.item(key)
        if found not in self.area_items:
            raise KeyError(key)
        return found

    def exam_item(self, key: str) -> Item:
        found = self.item(key)
        if found not in self.exam_items:
            raise KeyError(key)
        return found

    def is_area_item(self, key: str) -> bool:
        return any(i.key == key for i in self.area_items)

    def is_exam_item(self, key: str) -> bool:
        return any(i.key == key for i in self.exam_items)

    # -- the grid -----------------------------------------------------------

    def applies(self, area_key: str, item_key: str) -> bool:
        """Is this item scored on this area?  KeyError for unknown keys, so a
        typo in a template fails loudly instead of hiding a cell."""
        self.area(area_key)
        self.area_item(item_key)
        return (area_key, item_key) not in self.not_applicable

    def not_applicable_reason(self, area_key: str, item_key: str) -> str:
        """Why a cell is not scored, worded for the examiner."""
        return self.not_applicable_reasons.get(
            (area_key, item_key), f"not scored on the {self.area(area_key).label.lower()}"
        )

    def cells(self) -> Iterator[Cell]:
        """Every (area, item) square in form order, N/A ones included."""
        for a in self.areas:
            for i in self.area_items:
                yield Cell(a, i, (a.key, i.key) not in self.not_applicable)

    def items_for(self, area_key: str) -> tuple[Item, ...]:
        """The area items scored on this area, in form order."""
        self.area(area_key)
        return tuple(
            i for i in self.area_items if (area_key, i.key) not in self.not_applicable
        )

    @cached_property
    def applicable(self) -> Mapping[str, tuple[str, ...]]:
        """area key -> the keys of the items scored there (form order)."""
        return MappingProxyType(
            {a.key: tuple(i.key for i in self.items_for(a.key)) for a in self.areas}
        )

    # -- derived maxima and bands --------------------------------------------

    def _max(self, kind: ItemKind) -> int:
        total = 0
        for cell in self.cells():
            if cell.applies and cell.item.kind == kind:
                factor = self.modifier.factor if cell.item.key == self.modifier.item_key else 1
                total += cell.item.max_value * factor
        return total + sum(i.max_value for i in self.exam_items if i.kind == kind)

    @cached_property
    def max_activity(self) -> int:
        """Derived from the data: 13x3 + 13x2 + 1 + 1 + 3 = 70 for CLASI."""
        return self._max(ACTIVITY)

    @cached_property
    def max_damage(self) -> int:
        """Derived from the data: 13x1x2 + 12x2 + 6 = 56 for CLASI (the modifier
        at its worst).  Never added to max_activity: two separate scores."""
        return self._max(DAMAGE)

    def severity_band(self, activity: int) -> SeverityBand:
        """The band of an activity score; ValueError outside 0..max_activity."""
        for band in self.severity_bands:
            if activity in band:
                return band
        raise ValueError(f"activity {activity!r} is outside 0-{self.max_activity}")
