"""The published lenalidomide series for CLE, as data: the ONE place their numbers live.

Numbers from clasi.md section 4 (the project's domain reference), each with
its source. None means the series did not report that number: pages show
"not reported", never 0. These are context, not a benchmark: different
patients, selection, response definitions and follow-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["PUBLISHED_SERIES", "PublishedSeries"]


@dataclass(frozen=True, slots=True)
class PublishedSeries:
    key: str
    name: str
    source: str  # the citation
    patients: int
    complete_response: int | None  # patients in CR
    evaluable: int | None  # the CR rate's denominator
    complete_response_rate: Fraction | None  # as published when no counts are given
    relapse_rate: Fraction | None  # after withdrawal in CR
    weeks_to_relapse: str | None  # as published ("2-8")
    adverse_events: str | None  # the main ones, as published
    note: str = ""

    @property
    def cr_rate(self) -> Fraction | None:
        if self.complete_response is not None and self.evaluable:
            return Fraction(self.complete_response, self.evaluable)
        return self.complete_response_rate


PUBLISHED_SERIES: tuple[PublishedSeries, ...] = (
    PublishedSeries(
        key="vall_dhebron_2012",
        name="Vall d'Hebron 2012",
        source=(
            "Cortes-Hernandez J, Avila G, Vilardell-Tarres M, Ordi-Ros J. Efficacy and safety "
            "of lenalidomide for refractory cutaneous lupus erythematosus. "
            "Arthritis Res Ther 2012;14:R265."
        ),
        patients=15,
        complete_response=12,
        evaluable=14,
        complete_response_rate=None,
        relapse_rate=Fraction(3, 4),
        weeks_to_relapse="2-8",
        adverse_events=(
            "2 patients, minor: insomnia, GI symptoms, grade 2 neutropenia; "
            "no neuropathy, no thrombosis"
        ),
        note="1 stopped early for side effects; mean CLASI-A 11 to 4.1 within 2 weeks",
    ),
    PublishedSeries(
        key="penn",
        name="Penn",
        source=(
            "Okon L et al. Lenalidomide in treatment-refractory CLE: a 52-week trial (Penn)."
        ),
        patients=5,
        complete_response=None,
        evaluable=None,
        complete_response_rate=None,
        relapse_rate=None,
        weeks_to_relapse=None,
        adverse_events="1 developed SLE symptoms; 1 new proteinuria",
        note="52 weeks",
    ),
    PublishedSeries(
        key="mayo_2016",
        name="Mayo 2016",
        source="Lenalidomide treatment of CLE: the Mayo Clinic experience. Int J Dermatol 2016;55:e431.",
        patients=9,
        complete_response=5,
        evaluable=9,
        complete_response_rate=None,
        relapse_rate=None,
        weeks_to_relapse=None,
        adverse_events="1 deep vein thrombosis",
        note="partial response 2; the non-responders had lupus panniculitis",
    ),
    PublishedSeries(
        key="french_19",
        name="French series of 19",
        source=(
            "Reymann V, Bessis D, Bergeret B, Lipsker D, Du-Thanh A, Terrail N, Dandurand M, "
            "Dereure O. Efficacy and safety of low-dose oral lenalidomide in refractory "
            "cutaneous lupus erythematosus: an open series of 19 cases (authors and title from "
            "a literature search, journal not verified here; the numbers are clasi.md "
            "section 4's)."
        ),
        patients=19,
        complete_response=None,
        evaluable=None,
        complete_response_rate=Fraction(63, 100),
        relapse_rate=None,
        weeks_to_relapse=None,
        adverse_events=None,
        note="given with an antiplatelet agent",
    ),
)
