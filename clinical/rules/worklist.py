"""The needs-attention worklist (clasi.md section 5.6): one list, most urgent first (pure).

Open flags (section 3) and urgent safety items share one shape, `WorkItem`,
so the page, the stored derived state and the acknowledgement all speak of
one thing. The order is the contract's: a positive pregnancy test; a grade
3-4 cytopenia; a pregnancy test overdue on a running course; creatinine
clearance below the review limit; then flags, newest first.

`safety_items` is the one place that decides which safety findings are
urgent; `flag_item` the one place that turns a flag into a row. An item's
`key` is what an acknowledgement is stored under: a safety item is keyed by
its kind and date (section 5.6), a flag by its event (`Flag.key`), so the two
never collide ("safety:..." vs "withdrawal:..." / "reduction:..." / ...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from clinical.record import PatientRecord

WorkKind = Literal[
    "pregnancy_positive",
    "cytopenia",
    "pregnancy_test_overdue",
    "crcl_below_review",
    "flag",
    "thrombosis_risk",  # never urgent (5.6 does not list it): the patient page only
]

# Lower is more urgent (clasi.md 5.6). Flags come last, newest first among them.
URGENCY: dict[str, int] = {
    "pregnancy_positive": 0,
    "cytopenia": 1,
    "pregnancy_test_overdue": 2,
    "crcl_below_review": 3,
    "flag": 4,
    "thrombosis_risk": 5,
}


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One row of the worklist: what happened, when, and what to do about it."""

    kind: WorkKind
    key: str  # the acknowledgement key (stable across recomputation)
    date: dt.date  # when it arose: the lab's date, the due date, the flaring visit
    title: str  # "Positive pregnancy test", "Grade 3 neutropenia", a flag's label
    action: str  # what to do, in the clinic's words
    detail: str = ""  # the evidence: value and unit as entered, dates
    visit_id: str | None = None  # the visit to link to, when there is one
    flag_kind: str | None = None  # for kind == "flag": Flag.kind
    urgent: bool = True  # False: shown on the patient page only, never on the worklist

    @property
    def urgency(self) -> int:
        return URGENCY[self.kind]


def safety_key(kind: str, day: dt.date) -> str:
    """The acknowledgement key of a safety item: its kind and date (section 5.6)."""
    return f"safety:{kind}:{day.isoformat()}"


def flag_item(flag) -> WorkItem:  # flag: clinical.rules.flares.Flag (no import cycle)
    return WorkItem(
        kind="flag",
        key=flag.key,
        date=flag.date,
        title=flag.label,
        action="Review the skin and the treatment; acknowledge with a note",
        detail=flag.description,
        visit_id=flag.visit_id,
        flag_kind=flag.kind,
    )


def safety_items(
    record: PatientRecord,
    today: dt.date,
    *,
    programme: str = "eu",
    crcl_review_ml_min: int = 60,
) -> list[WorkItem]:
    """The safety findings of a record as of `today` (urgent ones have urgent=True).

    The rules are clinical.rules.safety.safety_findings (clasi.md 5.1-5.4):
    a positive pregnancy test on or after a teratogen course's start; CTCAE
    grade 2-4 cytopenias (grade 3-4 during a course or within 4 weeks after
    it urgent); a pregnancy test overdue on a running course; creatinine
    clearance below `crcl_review_ml_min` on a running lenalidomide course;
    the thrombosis signal (never urgent).
    """
    from clinical.rules.safety import safety_findings  # local: safety imports this module

    return safety_findings(
        record, today, programme=programme, crcl_review_ml_min=crcl_review_ml_min
    )


def worklist(
    items: Iterable[WorkItem], acknowledged: Iterable[str] = ()
) -> list[WorkItem]:
    """The urgent, unacknowledged items, most urgent first, newest first within a kind."""
    done = set(acknowledged)
    open_items = [i for i in items if i.urgent and i.key not in done]
    return sorted(open_items, key=lambda i: (i.urgency, -i.date.toordinal(), i.key))
