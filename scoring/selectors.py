"""The reads of the clinical-reasoning pages: flags, needs attention, the patient analysis.

Every record comes from patients.snapshot (the one reader of the record, a
fixed number of queries); the rules and charts are clinical/'s pure functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone

from clinic.access import scoped
from patients.models import Patient, StopReason
from patients.snapshot import record_for
from photos.models import Photo
from clinical.charts.trend import trend_figure
from clinical.rules.flares import CourseSummary, Flag, course_summaries, find_flags
from scoring.models import FlagAcknowledgement
from clinical.rules.safety import safety_monitoring
from scoring.safety import patient_safety
from clinical.rules.signals import systemic_signals
from clinical.record import PatientRecord, Thresholds
from clinical.rules.worklist import worklist


def thresholds() -> Thresholds:
    """The site's flare thresholds (settings.CLE_FLARE_THRESHOLDS)."""
    return Thresholds(**settings.CLE_FLARE_THRESHOLDS)


def timeline_for(patient: Patient) -> PatientRecord:
    """One patient's record for the rules (no visits or items: what the score panel needs)."""
    return record_for(patient, full=False)


# -- the patient page's analysis ---------------------------------------------


@dataclass(frozen=True)
class FlagView:
    """A computed flag with its acknowledgement (None while open)."""

    flag: Flag
    acknowledgement: FlagAcknowledgement | None

    @property
    def key(self) -> str:
        return self.flag.key

    @property
    def open(self) -> bool:
        return self.acknowledgement is None

    @property
    def after_text(self) -> str:
        """"3 weeks" (clasi.md section 3 reports whole weeks); "5 days" inside the first week."""
        return self.flag.after_text

    @property
    def event_text(self) -> str:
        """"withdrawal", "dose reduction", "start of the lenalidomide course" (Flag.event_words)."""
        return self.flag.event_words

    @property
    def reference_text(self) -> str:
        """What the triggering CLASI-A is compared with, in words."""
        flag = self.flag
        if not flag.exploratory:
            return f"in complete response (CLASI-A 0) at the {self.event_text}"
        rise = flag.activity - flag.reference_activity
        percent = (
            f", +{rise * 100 // flag.reference_activity}%" if flag.reference_activity else ""
        )
        before = (
            "before this visit"  # rule 5: the lowest of the earlier on-treatment visits
            if flag.event == "on_treatment"
            else f"before the {self.event_text}"
        )
        return (
            f"lowest on-treatment CLASI-A {before} was "
            f"{flag.reference_activity} (+{rise} points{percent})"
        )


@dataclass(frozen=True)
class CourseRow:
    """A course summary with its display labels."""

    number: int
    summary: CourseSummary
    stop_reason_label: str


def _stop_reason_label(value: str | None) -> str:
    if not value:
        return ""
    return StopReason(value).label if value in StopReason.values else value


def current_flags(timeline: PatientRecord, today: dt.date | None = None) -> list[Flag]:
    """The flags of a timeline as every page shows them: the site's thresholds, the
    record as it stands today (a future-dated entry is not history yet)."""
    return find_flags(timeline, thresholds(), today or timezone.localdate())


def photo_marks(patient: Patient) -> dict[dt.date, tuple[int, str]]:
    """{visit date: (how many photographs, that visit's photographs page)}: ONE
    grouped query, whatever the number of photographs (the trend's markers and
    the chart table's links; one visit a day per patient, so the date is a key)."""
    rows = (
        Photo.objects.filter(visit__patient=patient)
        .values("visit_id", "visit__date")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        row["visit__date"]: (row["n"], reverse("photos:visit", args=[row["visit_id"]]))
        for row in rows
    }


def patient_analysis(patient: Patient, timeline: PatientRecord) -> dict:
    """Context for the patient page's treatments, trend chart, flags and course summary.

    `timeline` is patients.snapshot.record_for(patient), already loaded: the
    analysis runs TWO queries (the acknowledgements, the photographs per visit),
    whatever the number of visits or photographs.
    """
    today = timezone.localdate()
    limits = thresholds()
    flags = find_flags(timeline, limits, today)
    acks = list(
        FlagAcknowledgement.objects.filter(patient=patient).select_related("acknowledged_by")
    )
    ack_by_key = {a.flag_key: a for a in acks}
    views = [FlagView(flag, ack_by_key.get(flag.key)) for flag in flags]
    # The urgent safety items (clasi.md 5.6), by the rules the worklist and its stored
    # state use; acknowledged with a note like flags, under the item's key.
    # One computation: the urgent items get the acknowledgement boxes (open) and the
    # history (acknowledged); the rest are listed as signals (patients/_safety_items.html).
    shown_safety = patient_safety(timeline, today)
    safety = [i for i in shown_safety["safety_items"] if i.urgent]
    shown_safety["safety_items"] = [i for i in shown_safety["safety_items"] if not i.urgent]
    live_keys = {flag.key for flag in flags} | {i.key for i in safety}
    has_data = bool(timeline.assessments or timeline.courses or timeline.labs)
    photos = photo_marks(patient)
    figure = (
        trend_figure(
            timeline,
            flags,
            acknowledged=ack_by_key.keys(),
            thresholds=limits,
            today=today,
            photos=photos,
        )
        if has_data
        else None
    )
    acknowledged = [v for v in reversed(views) if not v.open]
    stale = [a for a in acks if a.flag_key not in live_keys]
    return {
        "trend_figure": figure,
        "photo_marks": photos,
        # Newest first: the banner a clinician must read first is the latest.
        "open_flags": [v for v in reversed(views) if v.open],
        "acknowledged_flags": acknowledged,
        # Acknowledgements whose event no longer raises a flag (the record was
        # corrected): kept as history, never silently dropped.
        "stale_acknowledgements": stale,
        "open_safety_items": worklist(safety, ack_by_key.keys()),
        "acknowledged_safety_items": [(i, ack_by_key[i.key]) for i in safety if i.key in ack_by_key],
        "history_count": len(acknowledged) + len(stale) + sum(1 for i in safety if i.key in ack_by_key),
        "systemic_signals": systemic_signals(timeline),
        # Next pregnancy test / blood count due (clasi.md section 5): pure rules over the
        # timeline already built, and a field of the loaded patient: no query.
        "safety_monitoring": safety_monitoring(
            timeline, today, patient.reproductive_potential,
            programme=settings.CLE_PREGNANCY_PROGRAMME,
        ),
        "course_rows": [
            CourseRow(i, summary, _stop_reason_label(summary.stop_reason))
            for i, summary in enumerate(course_summaries(timeline, limits, today), start=1)
        ],
        "thresholds": limits,
        # What she takes today, watched drugs first (drug, dose, since when, on hold).
        "current_treatments": timeline.treatments_on(today),
        # Safety findings, creatinine clearance, thrombosis (clasi.md 5.1-5.4): no query.
        **shown_safety,
    }


# -- the clinic's "needs attention" list --------------------------------------


@dataclass(frozen=True)
class StoredItem:
    """One open worklist item as scoring.state stored it (clinical.rules.worklist.WorkItem's fields)."""

    kind: str
    key: str
    date: dt.date
    title: str
    action: str
    detail: str
    visit_id: str | None
    flag_kind: str | None
    urgency: int

    @classmethod
    def from_row(cls, row: dict) -> StoredItem:
        return cls(**{**row, "date": dt.date.fromisoformat(row["date"])})

    @property
    def is_flag(self) -> bool:
        return self.kind == "flag"


def stored_items(state) -> list[StoredItem]:
    return [StoredItem.from_row(row) for row in (state.items if state is not None else [])]


def states_of(patients: Iterable[Patient], *, fresh: bool = False) -> dict:
    """{patient id: PatientState} of these patients, brought up to today (two queries
    when none is stale; one when the caller has just made their clinics `fresh`
    with user_clinics_fresh)."""
    from scoring.models import PatientState
    from scoring.state import refresh_stale

    ids = [p.pk for p in patients]
    if not fresh:
        refresh_stale(Patient.objects.filter(pk__in=ids))
    return {s.patient_id: s for s in PatientState.objects.filter(patient__in=ids)}


def user_clinics_fresh(user) -> list:
    """The ids of the user's clinics, every patient's stored state in them brought
    up to today first (scoring.state.fresh_clinics: one query when none is stale)."""
    from clinic.models import Clinic
    from scoring.state import fresh_clinics

    return fresh_clinics(scoped(user, Clinic))


def open_states(clinic_ids: Iterable) -> QuerySet:
    """The stored states with an open item in these clinics (made fresh by the caller)."""
    from scoring.models import PatientState

    # By the state's own clinic (a copy of the patient's), as values: the partial
    # index state_open_worklist serves the count and the page in the page's order.
    return PatientState.objects.filter(clinic__in=list(clinic_ids), open_items__gt=0)


@dataclass(frozen=True)
class AttentionRow:
    """A patient with at least one open worklist item, most urgent first."""

    patient: Patient
    items: tuple[StoredItem, ...]

    @property
    def newest(self) -> StoredItem:
        return self.items[0]


ATTENTION_PAGE_SIZE = 50


def _with_open_items(user) -> QuerySet:
    """The user's patients' stored states with an open item, brought up to today first."""
    return open_states(user_clinics_fresh(user))


def patients_needing_attention(user, clinic_ids: Iterable | None = None) -> QuerySet:
    """Ids of the user's patients with an open flag or urgent safety item (the patient
    list's "needs attention" filter), as a subquery of the stored state. With
    `clinic_ids`, the caller has made those clinics fresh (user_clinics_fresh)."""
    states = _with_open_items(user) if clinic_ids is None else open_states(clinic_ids)
    return states.values_list("patient_id", flat=True)


# The filter's older name: it has always meant "on the needs-attention page".
patients_with_open_flags = patients_needing_attention


def attention_page(user, page_number=None, kind: str = ""):
    """One page of the needs-attention worklist, read from the stored state.

    Patients in the order of their most urgent item (clasi.md 5.6: a positive
    pregnancy test, a grade 3-4 cytopenia, an overdue pregnancy test, a low
    creatinine clearance, then flags), newest first within a kind; `kind`
    keeps the patients with an open item of that kind. Fixed queries whatever
    the number of patients: the staleness check, the count, the page.
    """
    from clinical.rules.worklist import URGENCY

    states = _with_open_items(user)
    if kind in URGENCY:
        states = states.filter(kinds__contains=f" {kind} ")
    # Only what the page shows and the audit entry names: a state's other columns
    # and a patient's notes and history are not read here.
    states = states.select_related("patient__clinic").only(
        "patient_id", "items", "patient__code", "patient__name", "patient__clinic_id", "patient__clinic__name"
    ).order_by(
        "top_urgency", "-top_date", "patient__code", "patient_id"
    )
    page = Paginator(states, ATTENTION_PAGE_SIZE).get_page(page_number)
    rows = [AttentionRow(s.patient, tuple(stored_items(s))) for s in page.object_list]
    return page, rows


def attention_rows(user) -> list[AttentionRow]:
    """The first page of the worklist's rows (what a script or test reads without paging)."""
    return attention_page(user)[1]
