"""The lab table of clasi.md 5.5: tests, units, conversions, plausible values, CTCAE grades.

Every lab value enters the record with a unit from its test's list and is
converted to the test's canonical unit for every rule, chart and report; the
value as entered is kept beside it. A unit outside the list is refused at
entry, never stored to be skipped later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "LABS",
    "CTCAE_GRADES",
    "LabTest",
    "UnknownUnit",
    "CYTOPENIA_NAMES",
    "canonical_value",
    "ctcae_grade",
    "implausible",
    "get",
    "normalise_unit",
    "unit_key",
]


@dataclass(frozen=True, slots=True)
class LabTest:
    """A test of the lab table. `units` maps each accepted unit to its factor to canonical.

    `plausible` bounds the canonical value (inclusive): outside it the value
    is a typing or unit mistake (ANC 5,000 x 10^9/L), refused at entry.
    A test with no units (pregnancy) takes the words in `results`.
    """

    key: str
    label: str
    canonical: str = ""
    units: tuple[tuple[str, Decimal], ...] = ()
    plausible: tuple[Decimal, Decimal] | None = None
    results: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        return not self.results

    @property
    def unit_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.units)


_ONE = Decimal(1)
_CELLS = (
    ("10^9/L", _ONE),
    ("G/L", _ONE),
    ("10^3/uL", _ONE),
    ("K/uL", _ONE),
    ("cells/uL", Decimal("0.001")),
    ("/uL", Decimal("0.001")),
)
_COMPLEMENT = (("g/L", _ONE), ("mg/dL", Decimal("0.01")))

# Form order: the visit form, the exchange schema and the CSV list labs in this order.
LABS: dict[str, LabTest] = {
    t.key: t
    for t in (
        LabTest("anti_dsdna", "Anti-dsDNA", "IU/mL", (("IU/mL", _ONE),), (Decimal(0), Decimal(100000))),
        LabTest("c3", "C3", "g/L", _COMPLEMENT, (Decimal(0), Decimal(10))),
        LabTest("c4", "C4", "g/L", _COMPLEMENT, (Decimal(0), Decimal(5))),
        LabTest("anc", "Neutrophils (ANC)", "10^9/L", _CELLS, (Decimal(0), Decimal(100))),
        LabTest("platelets", "Platelets", "10^9/L", _CELLS, (Decimal(0), Decimal(5000))),
        LabTest("wbc", "White cells", "10^9/L", _CELLS, (Decimal(0), Decimal(500))),
        LabTest(
            "hemoglobin",
            "Haemoglobin",
            "g/dL",
            (("g/dL", _ONE), ("g/L", Decimal("0.1")), ("mmol/L", Decimal("1.611"))),
            (Decimal(1), Decimal(25)),
        ),
        LabTest(
            "creatinine",
            "Creatinine",
            "umol/L",
            (("umol/L", _ONE), ("mg/dL", Decimal("88.42"))),
            (Decimal(5), Decimal(3000)),
        ),
        LabTest(
            "urine_protein",
            "Urine protein",
            "g/24h",
            (("g/24h", _ONE), ("mg/24h", Decimal("0.001"))),
            (Decimal(0), Decimal(50)),
        ),
        LabTest(
            "upcr",
            "Urine protein/creatinine ratio",
            "mg/mmol",
            (("mg/mmol", _ONE), ("mg/g", Decimal("0.1131")), ("g/g", Decimal("113.1"))),
            (Decimal(0), Decimal(3000)),
        ),
        LabTest("pregnancy", "Pregnancy test", results=("negative", "positive")),
    )
}


class UnknownUnit(ValueError):
    """A unit outside the test's list; the message names the accepted ones."""


def get(test: str) -> LabTest:
    return LABS[test]


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_SUPERSCRIPT_RUN = re.compile(r"(?<=\d)([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)")


def unit_key(unit: str | None) -> str:
    """A unit folded for comparison: spaces, case, µ/μ -> u, ×10⁹ -> 10^9, a leading x dropped.

    Case folding is safe within one test: no two of a test's units differ only by case.
    """
    text = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group(1), unit or "").translate(_SUPERSCRIPTS)
    text = "".join(text.split()).replace("\u00d7", "x").replace("µ", "u").replace("μ", "u").lower()
    if text.startswith("x10"):
        text = text[1:]
    return text


def normalise_unit(test: str, unit: str | None) -> str:
    """The list's spelling of `unit` for `test`; UnknownUnit when it is not on the list."""
    lab = LABS[test]
    if not lab.numeric:
        if unit:
            raise UnknownUnit(f"{lab.label} takes no unit")
        return ""
    key = unit_key(unit)
    for name, _ in lab.units:
        if unit_key(name) == key:
            return name
    raise UnknownUnit(f"{unit!r} is not a unit for {lab.label}; use one of {', '.join(lab.unit_names)}")


def canonical_value(test: str, value: Decimal, unit: str | None) -> Decimal:
    """`value` in `unit` converted to the test's canonical unit (UnknownUnit if not listed)."""
    name = normalise_unit(test, unit)
    factor = dict(LABS[test].units)[name]
    return value * factor


# CTCAE v5 grade thresholds (clasi.md 5.2), canonical units: value < limit -> grade.
CTCAE_GRADES: dict[str, tuple[tuple[int, Decimal], ...]] = {
    "anc": ((4, Decimal("0.5")), (3, Decimal("1.0")), (2, Decimal("1.5"))),
    "platelets": ((4, Decimal("25")), (3, Decimal("50")), (2, Decimal("75"))),
    "hemoglobin": ((3, Decimal("8.0")), (2, Decimal("10.0"))),
}


def ctcae_grade(test: str, canonical: Decimal) -> int | None:
    """The CTCAE v5 grade (2-4) of a low count in canonical units, or None below grade 2."""
    for grade, limit in CTCAE_GRADES.get(test, ()):
        if canonical < limit:
            return grade
    return None


# The CTCAE v5 term of a low count, as a worklist title says it ("Grade 3 neutropenia").
CYTOPENIA_NAMES: dict[str, str] = {
    "anc": "neutropenia",
    "platelets": "thrombocytopenia",
    "hemoglobin": "anaemia",
}


def implausible(test: str, canonical: Decimal) -> str | None:
    """Why a canonical value cannot be a real result of `test` (a typing or unit
    mistake: ANC 5,000 x 10^9/L), or None when it is plausible."""
    lab = LABS[test]
    if lab.plausible is None:
        return None
    low, high = lab.plausible
    if low <= canonical <= high:
        return None
    shown = format(canonical.normalize(), "f")
    return (
        # The label as the form spells it: lower-casing made "neutrophils (anc)", "c3".
        f"{shown} {lab.canonical} is not a plausible value for {lab.label} "
        f"({format(low.normalize(), 'f')}-{format(high.normalize(), 'f')} {lab.canonical}): "
        "check the value and its unit"
    )
