"""What the record needs to know about a drug: one `DrugProfile` per drug."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Dose frequencies the record holds (exchange-format.md): the interval in days.
FREQUENCIES: dict[int, str] = {
    1: "daily",
    2: "alternate days",
    7: "weekly",
    28: "four-weekly",
}


@dataclass(frozen=True, slots=True)
class DrugProfile:
    """One drug: its identity, the rules that watch it and its safety needs.

    `watched`: courses raise flare flags, end watches and bound baselines
    (clasi.md section 3). `exclusive_group`: courses of drugs sharing a group
    never overlap in one patient (same-drug courses never overlap anyway).
    `dose_mg`: the plausible amount of ONE dose, inclusive, refused outside
    it at entry (a typo such as 1000 mg lenalidomide must not reach the
    record); None for `other`, whose drug is unknown. `frequencies`: the
    usual intervals, offered first on forms; any of FREQUENCIES is accepted.
    """

    key: str
    label: str
    atc: str = ""
    watched: bool = False
    exclusive_group: str | None = None
    teratogenic: bool = False
    dose_mg: tuple[Decimal, Decimal] | None = None
    frequencies: tuple[int, ...] = (1,)
    # Thromboprophylaxis (clasi.md 5.4): a running course of such a drug
    # protects a lenalidomide course in a patient with a risk factor.
    thromboprophylaxis: bool = False
    # Safety schedules and limits (clasi.md section 5) that apply to its courses.
    pregnancy_prevention: bool = False
    blood_count_monitoring: bool = False
    renal_dose_review: bool = False
    # `other`: the drug is named in free text on the course.
    needs_name: bool = False

    def __post_init__(self) -> None:
        if not self.frequencies or any(f not in FREQUENCIES for f in self.frequencies):
            raise ValueError(f"{self.key}: frequencies must be among {sorted(FREQUENCIES)}")
        if self.dose_mg is not None and not (0 < self.dose_mg[0] <= self.dose_mg[1]):
            raise ValueError(f"{self.key}: dose range must be 0 < low <= high")

    def dose_problem(self, mg: Decimal) -> str | None:
        """Why `mg` is not a plausible single dose of this drug, or None."""
        if mg <= 0:
            return "must be more than 0 mg"
        if self.dose_mg is None:
            return None
        low, high = self.dose_mg
        if not (low <= mg <= high):
            return (
                f"{format(mg.normalize(), 'f')} mg is outside the plausible range for "
                f"{self.label} ({format(low.normalize(), 'f')}-{format(high.normalize(), 'f')} mg)"
            )
        return None
