"""Reads that turn the stored record into the pure timelines of clinical.record.

`timelines_for` runs a fixed number of queries (four) whatever the number of
patients, visits or courses, and reads plain values() rows rather than model
instances, so the cohort report over thousands of patients stays cheap.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import QuerySet
from django.utils import timezone

from clinic.access import scoped
from patients.models import (
    Course as StoredCourse,
    DoseStep,
    LabResult,
    LabTest,
    Patient,
    StopReason,
)
from clinical.charts.trend import trend_figure
from clinical.rules.flares import CourseSummary, Flag, course_summaries, find_flags
from scoring.models import Assessment as StoredAssessment, FlagAcknowledgement
from clinical.rules.safety import safety_monitoring
from clinical.rules.signals import safety_signals, systemic_signals
from clinical.record import Assessment, Course, DoseStep as Dose, Lab, PatientRecord, Thresholds


def thresholds() -> Thresholds:
    """The site's flare thresholds (settings.CLE_FLARE_THRESHOLDS)."""
    return Thresholds(**settings.CLE_FLARE_THRESHOLDS)


def timelines_for(patients: QuerySet[Patient] | Iterable[Patient]) -> dict:
    """PatientRecord per patient id, in four queries.

    `patients` may be a queryset (used as a subquery, never materialised
    twice) or already-loaded patients.
    """
    if isinstance(patients, QuerySet):
        rows = list(patients.values("id", "code", "sle", "sle_diagnosed"))
    else:
        rows = [
            {"id": p.pk, "code": p.code, "sle": p.sle, "sle_diagnosed": p.sle_diagnosed}
            for p in patients
        ]
    # A queryset stays a subquery: no 2,000-element IN list (SQLite caps parameters).
    ids = patients.values("id") if isinstance(patients, QuerySet) else [row["id"] for row in rows]
    assessments: dict = defaultdict(list)
    for a in StoredAssessment.objects.filter(visit__patient_id__in=ids).values_list(
        "visit__patient_id", "visit_id", "visit__date", "activity", "damage"
    ):
        assessments[a[0]].append(Assessment(str(a[1]), a[2], a[3], a[4]))

    doses: dict = defaultdict(list)
    courses_meta: dict = defaultdict(list)
    for step in DoseStep.objects.filter(course__patient_id__in=ids).values_list(
        "course_id", "date", "mg", "every_days"
    ):
        doses[step[0]].append(Dose(step[1], step[2], step[3]))

    for c in StoredCourse.objects.filter(patient_id__in=ids).values_list(
        "patient_id", "id", "start", "end", "stop_reason"
    ):
        courses_meta[c[0]].append(
            Course(str(c[1]), c[2], c[3], c[4] or None, tuple(doses.get(c[1], ())))
        )

    labs: dict = defaultdict(list)
    for lab in LabResult.objects.filter(visit__patient_id__in=ids).values_list(
        "visit__patient_id", "visit__date", "test", "value", "result", "unit"
    ):
        value = lab[4] if lab[2] == LabTest.PREGNANCY else lab[3]
        labs[lab[0]].append(Lab(lab[1], lab[2], _plain(value), lab[5]))

    return {
        row["id"]: PatientRecord(
            code=row["code"],
            courses=tuple(courses_meta.get(row["id"], ())),
            assessments=tuple(assessments.get(row["id"], ())),
            labs=tuple(labs.get(row["id"], ())),
            sle_diagnosed=row["sle_diagnosed"],
            sle=row["sle"],
        )
        for row in rows
    }


def timeline_for(patient: Patient) -> PatientRecord:
    return timelines_for([patient])[patient.pk]


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
        flag = self.flag
        if flag.days_after < 7:
            return f"{flag.days_after} day{'s' if flag.days_after != 1 else ''}"
        return f"{flag.weeks_after} week{'s' if flag.weeks_after != 1 else ''}"

    @property
    def event_text(self) -> str:
        return "withdrawal" if self.flag.event == "withdrawal" else "dose reduction"

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
        return (
            f"lowest on-treatment CLASI-A before the {self.event_text} was "
            f"{flag.reference_activity} (+{rise} points{percent})"
        )


@dataclass(frozen=True)
class CourseRow:
    """A course summary with its display labels."""

    number: int
    summary: CourseSummary
    stop_reason_label: str


def _plain(value):
    """A stored Decimal without the column's padding: 30.0000 -> 30, 0.7000 -> 0.7.

    Equal in value (so the timeline equals timelines_for's), but signal messages
    read "anti-dsDNA 30 IU/mL" rather than "30.0000".
    """
    if not isinstance(value, Decimal):
        return value
    plain = value.normalize()
    return plain.quantize(Decimal(1)) if plain.as_tuple().exponent > 0 else plain


def _stop_reason_label(value: str | None) -> str:
    if not value:
        return ""
    return StopReason(value).label if value in StopReason.values else value


def timeline_from_record(patient: Patient, record: dict) -> PatientRecord:
    """The patient's timeline from patients.selectors.patient_record(patient), no query.

    The visits come with their assessment (select_related) and labs
    (prefetched), the courses with their dose steps (prefetched): reading them
    here costs nothing more, whatever the number of visits.
    """
    assessments = []
    labs = []
    for visit in record.get("visits", ()):
        try:
            stored = visit.assessment
        except ObjectDoesNotExist:
            stored = None
        if stored is not None:
            assessments.append(Assessment(str(visit.pk), visit.date, stored.activity, stored.damage))
        for lab in visit.labs.all():
            value = lab.result if lab.test == LabTest.PREGNANCY else lab.value
            if value is None or value == "":
                continue
            labs.append(Lab(visit.date, lab.test, _plain(value), lab.unit))
    courses = [
        Course(
            str(c.pk),
            c.start,
            c.end,
            c.stop_reason or None,
            tuple(Dose(s.date, s.mg, s.every_days) for s in c.dose_steps.all()),
        )
        for c in record.get("courses", ())
    ]
    return PatientRecord(
        code=patient.code,
        courses=tuple(courses),
        assessments=tuple(assessments),
        labs=tuple(labs),
        sle_diagnosed=patient.sle_diagnosed,
        sle=patient.sle,
    )


def current_flags(timeline: PatientRecord, today: dt.date | None = None) -> list[Flag]:
    """The flags of a timeline as every page shows them: the site's thresholds, the
    record as it stands today (a future-dated entry is not history yet)."""
    return find_flags(timeline, thresholds(), today or timezone.localdate())


def patient_analysis(patient: Patient, record: dict) -> dict:
    """Context for the patient page's trend chart, flags and course summary.

    `record` is patients.selectors.patient_record(patient) (visits, courses),
    already loaded: the analysis runs ONE query (the acknowledgements),
    whatever the number of visits.
    """
    today = timezone.localdate()
    limits = thresholds()
    timeline = timeline_from_record(patient, record)
    flags = find_flags(timeline, limits, today)
    acks = list(
        FlagAcknowledgement.objects.filter(patient=patient).select_related("acknowledged_by")
    )
    ack_by_key = {a.flag_key: a for a in acks}
    views = [FlagView(flag, ack_by_key.get(flag.key)) for flag in flags]
    live_keys = {flag.key for flag in flags}
    has_data = bool(timeline.assessments or timeline.courses or timeline.labs)
    figure = (
        trend_figure(
            timeline,
            flags,
            acknowledged=ack_by_key.keys(),
            thresholds=limits,
            today=today,
        )
        if has_data
        else None
    )
    acknowledged = [v for v in reversed(views) if not v.open]
    stale = [a for a in acks if a.flag_key not in live_keys]
    return {
        "trend_figure": figure,
        # Newest first: the banner a clinician must read first is the latest.
        "open_flags": [v for v in reversed(views) if v.open],
        "acknowledged_flags": acknowledged,
        # Acknowledgements whose event no longer raises a flag (the record was
        # corrected): kept as history, never silently dropped.
        "stale_acknowledgements": stale,
        "history_count": len(acknowledged) + len(stale),
        "systemic_signals": systemic_signals(timeline),
        "safety_signals": safety_signals(timeline),
        # Next pregnancy test / blood count due (clasi.md section 5): pure rules over the
        # timeline already built, and a field of the loaded patient: no query.
        "safety_monitoring": safety_monitoring(timeline, today, patient.reproductive_potential),
        "course_rows": [
            CourseRow(i, summary, _stop_reason_label(summary.stop_reason))
            for i, summary in enumerate(course_summaries(timeline, limits, today), start=1)
        ],
        "thresholds": limits,
    }


# -- the clinic's "needs attention" list --------------------------------------


@dataclass(frozen=True)
class AttentionRow:
    """A patient with at least one unacknowledged flag."""

    patient: Patient
    flags: tuple[Flag, ...]  # open flags, newest first

    @property
    def newest(self) -> Flag:
        return self.flags[0]


def _open_flags_by_patient(user) -> dict:
    """{patient_id: [open Flag, newest first]} for the user's patients."""
    return open_flags_for(scoped(user, Patient))


def open_flags_for(patients: QuerySet[Patient] | Iterable[Patient]) -> dict:
    """{patient_id: [open Flag, newest first]} for these patients.

    Fixed queries whatever the number of patients: timelines_for (five) and
    one for the acknowledged keys; the rules then run in Python. The patient
    list passes one page of patients, the needs-attention page all of them.
    """
    if isinstance(patients, QuerySet):
        ids = patients.values("id")
    else:
        patients = list(patients)
        ids = [p.pk for p in patients]
    timelines = timelines_for(patients)
    acked = set(
        FlagAcknowledgement.objects.filter(patient__in=ids).values_list("patient_id", "flag_key")
    )
    today = timezone.localdate()
    limits = thresholds()
    found: dict = {}
    for patient_id, timeline in timelines.items():
        open_flags = [
            f for f in find_flags(timeline, limits, today) if (patient_id, f.key) not in acked
        ]
        if open_flags:
            found[patient_id] = sorted(open_flags, key=lambda f: (f.date, f.event_date), reverse=True)
    return found


def patients_with_open_flags(user) -> set:
    """Ids of the user's patients with an unacknowledged flag (the patient list's filter)."""
    return set(_open_flags_by_patient(user))


def attention_rows(user) -> list[AttentionRow]:
    """The user's patients with unacknowledged flags, the newest flag first."""
    found = _open_flags_by_patient(user)
    if not found:
        return []
    patients = {p.pk: p for p in Patient.objects.filter(pk__in=list(found)).select_related("clinic")}
    rows = [AttentionRow(patients[pid], tuple(flags)) for pid, flags in found.items() if pid in patients]
    rows.sort(key=lambda r: (r.newest.date, r.newest.event_date, r.patient.code), reverse=True)
    return rows
