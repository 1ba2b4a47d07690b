"""Every read a page needs, in a fixed number of queries.

A page's query count must not grow with the number of patients or visits:
related rows come with select_related/prefetch_related or subqueries, never
one query per row.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction

from django.contrib.auth import get_user_model
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.utils import timezone

from clinic.access import scoped
from clinic.models import Clinic, Role
from patients.models import CleSubtype, Course, Drug, Patient, Visit
from clinical.instruments.exam import Exam, Score, score
from clinical.rules.response import Interpretation, baseline_bound, course_baseline, interpret
from clinical.record import Assessment as TimelineAssessment
from clinical.record import Course as TimelineCourse
from clinical.record import PatientRecord, Thresholds, shift
from clinical.record import Lab, treatments_text
from clinical.record import Visit as RecordVisit


def patients_for(user) -> QuerySet[Patient]:
    """The user's patients with their clinic and latest CLASI annotated.

    Today's treatments come from the page's records (patients.snapshot), where
    "the course in force on a day" is written once.
    """
    from scoring.models import Assessment

    latest = Assessment.objects.filter(visit__patient=OuterRef("pk")).order_by("-visit__date")
    return (
        scoped(user, Patient)
        .select_related("clinic")
        .annotate(
            latest_activity=Subquery(latest.values("activity")[:1]),
            latest_damage=Subquery(latest.values("damage")[:1]),
            latest_assessed=Subquery(latest.values("visit__date")[:1]),
        )
        .order_by("clinic__name", "code")
    )


@dataclass(frozen=True)
class VisitRow:
    """A visit of the patient page's table with its examination (None when not scored)."""

    visit: RecordVisit
    assessment: TimelineAssessment | None


def visit_rows(record: PatientRecord) -> list[VisitRow]:
    """The record's visits in date order, each with its assessment: no query."""
    by_visit = {a.visit_id: a for a in record.assessments}
    return [VisitRow(v, by_visit.get(v.id)) for v in record.visits]


def search_patients(
    user,
    *,
    q: str = "",
    on_lenalidomide: bool = False,
    subtype: str = "",
    only_ids: set | QuerySet | None = None,
    today: dt.date | None = None,
    clinic_ids: Sequence | None = None,
) -> QuerySet[Patient]:
    """patients_for(user) narrowed by the list's filters; still one query per page.

    - q: part of the code or of the name, any case;
    - on_lenalidomide: a course that has started and is not withdrawn today;
    - subtype: one of CleSubtype (anything else is ignored, not an error);
    - only_ids: keep these patients only (the open-flag filter's answer);
    - clinic_ids: the user's clinics when the caller has them (clinics_for). With
      one clinic, the clinic's name orders nothing: the list is ordered by code
      within that clinic, which the database reads from the clinic's code index
      in order and stops after a page, whatever the clinic's size.
    """
    qs = patients_for(user)
    if clinic_ids is not None and len(clinic_ids) == 1:
        qs = qs.filter(clinic_id=clinic_ids[0]).order_by("code")
    if only_ids is not None:
        # A queryset (the stored state's ids) stays a subquery; a set becomes a list.
        qs = qs.filter(pk__in=only_ids if isinstance(only_ids, QuerySet) else list(only_ids))
    q = q.strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if on_lenalidomide:
        today = today or timezone.localdate()
        # The SQL twin of PatientRecord.courses_on for one drug (a filter must page in SQL).
        running = Course.objects.filter(
            patient=OuterRef("pk"), drug=Drug.LENALIDOMIDE, start__lte=today
        ).filter(Q(end__isnull=True) | Q(end__gte=today))
        qs = qs.filter(Exists(running))
    if subtype in CleSubtype.values:
        # The subtypes are a JSON list of vocabulary words; its text holds the
        # quoted word exactly once when present.  JSON containment (`contains`)
        # would be neater but SQLite lacks it, and the text form is the same
        # on both databases.
        qs = qs.annotate(_subtypes_text=Cast("cle_subtypes", CharField())).filter(
            _subtypes_text__contains=f'"{subtype}"'
        )
    return qs


def clinicians_of(clinic: Clinic) -> QuerySet:
    """Who may be named as the examining clinician of a visit in this clinic."""
    return (
        get_user_model()
        .objects.filter(memberships__clinic=clinic, memberships__role=Role.CLINICIAN)
        .order_by("username")
    )


def visit_for_page(user, visit_id, *, write: bool = False) -> Visit:
    """One visit with everything its page shows, through clinic access (three queries)."""
    from clinic.access import get_for_user

    return get_for_user(
        user,
        Visit.objects.select_related("patient__clinic", "assessment", "clinician").prefetch_related(
            "labs", "adverse_events"
        ),
        visit_id,
        write=write,
    )


def stored_exam(visit: Visit) -> Exam | None:
    """The examination stored with a visit (None when no CLASI was recorded)."""
    from clinical.instruments.exam import parse_exam

    try:
        assessment = visit.assessment
    except Visit.assessment.RelatedObjectDoesNotExist:
        return None
    return parse_exam(assessment.items)


# -- the live score panel ------------------------------------------------------

THIS_VISIT = "this-visit"


@dataclass(frozen=True)
class BaselineChange:
    """How the CLASI-A being entered compares with its course's baseline."""

    course: TimelineCourse | None
    baseline: TimelineAssessment | None
    interpretation: Interpretation | None
    message: str  # the sentence to show when there is nothing to compare

    @property
    def percent(self) -> int | None:
        """The fall in whole percent (negative: worse), rounded half away from 0."""
        if self.interpretation is None or self.interpretation.fall_percent is None:
            return None
        value: Fraction = self.interpretation.fall_percent
        return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))

    @property
    def change_points(self) -> int | None:
        """Current minus baseline CLASI-A: negative is better."""
        return None if self.interpretation is None else -self.interpretation.fall_points

    @property
    def change_percent(self) -> int | None:
        return None if self.percent is None else -self.percent

    @property
    def change_text(self) -> str:
        """"−2 points (−20%)", "+1 point (+10%)": signed as current minus baseline."""
        points = self.change_points
        if points is None:
            return ""
        sign = "−" if points < 0 else "+" if points > 0 else "±"
        text = f"{sign}{abs(points)} point{'' if abs(points) == 1 else 's'}"
        percent = self.change_percent
        if percent is not None:
            text += f" ({'−' if percent < 0 else '+' if percent > 0 else '±'}{abs(percent)}%)"
        return text

    @property
    def tone(self) -> str:
        """"better" only for a clinically meaningful fall (MCID), "worse" for
        any rise: a 1-point wobble is not painted as good news."""
        if self.interpretation is None:
            return ""
        if self.interpretation.fall_points < 0:
            return "worse"
        return "better" if self.interpretation.meets_mcid else ""

    @property
    def worse(self) -> bool:
        return self.interpretation is not None and self.interpretation.fall_points < 0


def _course_for(record: PatientRecord, day: dt.date, lookback: int):
    """The watched course in force on `day`, else a watched course starting within
    the baseline window after it (the visit would be that course's baseline)."""
    course = record.course_on(day)
    if course is not None:
        return course
    for course in record.watched_courses:
        if shift(course.start, -lookback) <= day < course.start:
            return course
    return None


def change_from_baseline(
    timeline: PatientRecord,
    *,
    day: dt.date,
    activity: int,
    damage: int,
    visit_id: str | None,
    thresholds: Thresholds,
) -> BaselineChange:
    """Compare the examination being entered with the current course's
    baseline (clinical.rules.response), treating it as already recorded on `day` so
    that a visit on or just before the start is recognised as the baseline."""
    course = _course_for(timeline, day, thresholds.baseline_lookback_days)
    if course is None:
        return BaselineChange(None, None, None, "No lenalidomide or thalidomide course on this date.")
    # One visit per day: an older assessment on the same day (or this visit's
    # own stored one, when editing) is replaced by what is on the form.
    others = [a for a in timeline.assessments if a.visit_id != visit_id and a.date != day]
    current = TimelineAssessment(THIS_VISIT, day, activity, damage)
    baseline = course_baseline(
        course, [*others, current], thresholds, baseline_bound(timeline, course)
    )
    if baseline is None:
        return BaselineChange(course, None, None,
                              f"The course of {course.start:%Y-%m-%d} has no baseline CLASI "
                              f"(none in the {thresholds.baseline_lookback_days} days before its start).")
    if baseline.visit_id == THIS_VISIT:
        return BaselineChange(course, baseline, None,
                              f"This visit is the baseline of the course started {course.start:%Y-%m-%d}.")
    if day <= course.start:
        return BaselineChange(course, baseline, None,
                              f"Before the course start; its baseline is the visit of {baseline.date:%Y-%m-%d}.")
    return BaselineChange(course, baseline, interpret(baseline.activity, activity, thresholds), "")


def score_panel(patient: Patient, *, day: dt.date | None, exam: Exam | None,
                visit: Visit | None = None, timeline: PatientRecord | None = None) -> dict:
    """Everything the live score panel and body map show for an examination
    (four queries for the patient's timeline unless the caller read it; none when
    there is no score)."""
    from patients.bodymap import body_maps
    from scoring.selectors import thresholds, timeline_for

    result: Score | None = score(exam) if exam is not None else None
    context: dict = {"score": result, "maps": body_maps(result), "change": None}
    if result is not None:
        context["band"] = activity_reading(result.activity)
        context["max_activity"] = exam.definition.max_activity
        context["max_damage"] = exam.definition.max_damage
        if day is not None:
            context["change"] = change_from_baseline(
                timeline or timeline_for(patient), day=day, activity=result.activity, damage=result.damage,
                visit_id=str(visit.pk) if visit is not None else None, thresholds=thresholds(),
            )
    return context


# -- reading a score on screen ----------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What a CLASI-A reads as on screen: a CSS key and the word shown."""

    key: str
    label: str


CLEAR = Reading("clear", "Clear")


def activity_reading(activity: int) -> Reading:
    """CLASI-A 0 reads "clear" (clasi.md section 2): a clinician reads "mild" as
    active disease.  The scorer's band stays `mild`; only the screen differs."""
    from clinical.instruments.clasi import CLASI

    if activity == 0:
        return CLEAR
    band = CLASI.severity_band(activity)
    return Reading(band.key, band.label)


# -- the visit form and page --------------------------------------------------------


def previous_examination(patient: Patient, before: dt.date | None = None) -> tuple[Visit, Exam] | None:
    """The newest visit with a CLASI examination (before `before` when given), for
    "start from the last visit" (one query)."""
    visits = Visit.objects.filter(patient=patient, assessment__isnull=False).select_related("assessment")
    if before is not None:
        visits = visits.filter(date__lt=before)
    visit = visits.order_by("-date").first()
    if visit is None:
        return None
    return visit, stored_exam(visit)


@dataclass(frozen=True)
class LabLine:
    """One lab result of a visit page, with how it compares to its reference."""

    lab: object
    out_of_range: str  # "", "high" or "low"
    reference: str  # the range it was judged by, in words ("" when none applies)
    grade: int | None = None  # CTCAE v5 grade of a low count (clasi.md 5.2)
    canonical_text: str = ""  # "= 0.8 10^9/L" when entered in another unit
    off_list: bool = False  # a stored unit outside the test's list: judged by nothing

    @property
    def value_text(self) -> str:
        """210 rather than Decimal.normalize()'s 2.1E+2."""
        return "" if self.lab.value is None else f"{self.lab.value.normalize():f}"


def lab_lines(labs) -> list[LabLine]:
    """A visit's labs in the form's order (the lab table's), each marked when its
    canonical value lies outside its reference range or safety limit."""
    from clinical import labs as lab_table
    from clinical.rules.signals import CTCAE_LIMITS, REFERENCE_RANGES

    order = {test: i for i, test in enumerate(lab_table.LABS)}
    lines = []
    for lab in sorted(labs, key=lambda lab: order.get(lab.test, len(order))):
        flag, reference, grade, shown, off_list = "", "", None, "", False
        if lab.value is not None:
            try:
                canonical = lab_table.canonical_value(lab.test, lab.value, lab.unit)
            except (lab_table.UnknownUnit, KeyError):
                canonical = None  # a unit off the list: shown as entered, judged by nothing
                off_list = True
            # Counts are judged by the CTCAE grade 2 limits (clasi.md 5.2).
            for ref in (*REFERENCE_RANGES, *CTCAE_LIMITS):
                if canonical is not None and ref.test == lab.test:
                    reference = ref.describe()
                    flag = "high" if ref.above(canonical) else "low" if ref.below(canonical) else ""
                    break
            if canonical is not None:
                grade = lab_table.ctcae_grade(lab.test, canonical)
                canonical_unit = lab_table.LABS[lab.test].canonical
                if lab_table.normalise_unit(lab.test, lab.unit) != canonical_unit:
                    shown = f"= {_number(canonical)} {canonical_unit}"
        elif lab.result == "positive":
            flag = "high"
        lines.append(LabLine(lab, flag, reference, grade, shown, off_list))
    return lines


def _number(value: Decimal) -> str:
    """A converted value to four significant digits: 0.8, not 0.8000 or 8E-1; 141.5
    umol/L for 1.6 mg/dL, not 141.472 (a precision the laboratory never measured)."""
    return f"{Context(prec=4, rounding=ROUND_HALF_UP).plus(value).normalize():f}"


@dataclass(frozen=True)
class RecordLab:
    """A lab of the patient page's labs table: as entered, canonical, CTCAE grade."""

    lab: Lab
    grade: int | None
    canonical_text: str  # "= 0.8 10^9/L" when entered in another unit
    off_list: bool  # a stored unit off the test's list

    @property
    def label(self) -> str:
        from clinical import labs as lab_table

        test = lab_table.LABS.get(self.lab.test)
        return test.label if test is not None else self.lab.test

    @property
    def value_text(self) -> str:
        return _lab_text(self.lab)


def record_labs(record: PatientRecord) -> list[RecordLab]:
    """Every lab of the record, newest first, graded from its canonical value (no query)."""
    from clinical import labs as lab_table

    order = {test: i for i, test in enumerate(lab_table.LABS)}
    rows = []
    for lab in sorted(record.labs, key=lambda lab: (-lab.date.toordinal(), order.get(lab.test, 99))):
        grade, shown = None, ""
        numeric = isinstance(lab.value, Decimal)
        if lab.canonical is not None:
            grade = lab_table.ctcae_grade(lab.test, lab.canonical)
            if lab_table.normalise_unit(lab.test, lab.unit) != lab.canonical_unit:
                shown = f"= {_number(lab.canonical)} {lab.canonical_unit}"
        rows.append(RecordLab(lab, grade, shown, numeric and lab.canonical is None))
    return rows


@dataclass(frozen=True)
class VisitFlag:
    """A flare flag a visit raised (`raised`) or lies inside the watch window of."""

    flag: object
    raised: bool
    acknowledged: bool


def flags_of_visit(visit: Visit, timeline: PatientRecord | None = None) -> list[VisitFlag]:
    """The flags this visit raised, or whose window (after the withdrawal or
    reduction, up to the flagged visit) it falls in: five queries, one when the
    caller read the patient's timeline (scoring.selectors.timeline_for)."""
    from scoring.models import FlagAcknowledgement
    from scoring.selectors import current_flags, timeline_for

    out = []
    for flag in current_flags(timeline or timeline_for(visit.patient)):
        raised = flag.visit_id == str(visit.pk)
        # A loss of response on treatment (rule 5) has no watch window: only its visit.
        watched = flag.event != "on_treatment" and flag.event_date < visit.date < flag.date
        if raised or watched:
            out.append([flag, raised])
    if not out:
        return []
    acknowledged = set(FlagAcknowledgement.objects.filter(
        patient_id=visit.patient_id, flag_key__in=[f.key for f, _ in out]
    ).values_list("flag_key", flat=True))
    return [VisitFlag(flag, raised, flag.key in acknowledged) for flag, raised in out]


# -- the trend chart as a table ---------------------------------------------------------

CHART_LABS = ("anti_dsdna", "c3", "c4", "anc", "platelets")  # the chart's lower panel


@dataclass(frozen=True)
class ChartRow:
    """One visit of the trend chart in numbers: what a screen reader reads and
    what "show as table" shows."""

    visit: Visit
    activity: int | None
    damage: int | None
    dose: str  # the treatments in force that day, "" when none
    labs: tuple[str, ...]  # CHART_LABS' values with their unit, "" when not done
    flags: tuple[str, ...]  # labels of the flags this visit raised
    # (how many photographs, their page) when the visit has any: the chart's markers as links
    photos: tuple[int, str] | None = None


def chart_rows(
    record: PatientRecord, flags, photos: Mapping[dt.date, tuple[int, str]] | None = None
) -> list[ChartRow]:
    """The numbers behind the patient's trend chart, one row per visit, from
    the record already read (no query). The treatments column says what was
    in force that day in the record's own words; `photos` is the chart's
    photograph markers (scoring.selectors.photo_marks), keyed by visit date."""
    photos = photos or {}
    raised: dict[str, list[str]] = {}
    for flag in flags:
        raised.setdefault(flag.visit_id, []).append(flag.label)
    assessments = {a.visit_id: a for a in record.assessments}
    labs: dict[tuple[dt.date, str], Lab] = {(lab.date, lab.test): lab for lab in record.labs}
    rows = []
    for visit in record.visits:
        assessment = assessments.get(visit.id)
        treatments = record.treatments_on(visit.date)
        values = tuple(
            _lab_text(labs[visit.date, t]) if (visit.date, t) in labs else "" for t in CHART_LABS
        )
        rows.append(ChartRow(
            visit,
            assessment.activity if assessment else None,
            assessment.damage if assessment else None,
            treatments_text(treatments) if treatments else "",
            values,
            tuple(raised.get(visit.id, ())),
            photos.get(visit.date),
        ))
    return rows


def _lab_text(lab: Lab) -> str:
    """A lab as entered: 210 rather than Decimal.normalize()'s 2.1E+2, with its unit."""
    if not isinstance(lab.value, Decimal):
        return str(lab.value)
    return f"{lab.value.normalize():f} {lab.unit}".strip()


# -- the patient page's cache (issue 13) -------------------------------------------


def record_stamp(patient_id) -> tuple:
    """What changes whenever anything the patient page shows changes: ONE query.

    The patient row's version and time; per table of the record, the number of
    rows and, where the rows carry them, their latest change and the sum of
    their versions. Every service write bumps the version (and time) of the
    row it edits or of the parent the edit form covers (a visit covers its
    labs and assessment, a course its dose steps and holds), adding or
    deleting a row changes a count, an acknowledgement or a photograph adds a row: so a
    cached page keyed on this stamp is never served after a change, whichever
    way the change was made (services, the import, the admin).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        # The id as the database stores it (hex text on SQLite, uuid on PostgreSQL).
        cursor.execute(_stamp_sql(), [Patient._meta.pk.get_db_prep_value(patient_id, connection)])
        found = cursor.fetchone()
    return tuple(found) if found else ()


def stamp_photographs(stamp: tuple) -> int:
    """How many photographs the patient's visits have, as the stamp counted them
    (its second-to-last column, _stamp_sql); 0 for a patient not found."""
    return stamp[-2] if stamp else 0


@functools.lru_cache(maxsize=1)
def _stamp_sql() -> str:
    """record_stamp's query, written once from the models' tables (compiling it
    through the ORM cost more than running it)."""
    from patients.models import DoseStep, Interruption, LabResult
    from photos.models import Photo
    from scoring.models import Assessment, FlagAcknowledgement

    def table(model) -> str:
        return model._meta.db_table

    visit, course = table(Visit), table(Course)
    stamped = "count(*), max(updated_at), sum(version)"
    parts = [
        f"(SELECT {expr} FROM {source})"
        for source, exprs in (
            (f"{visit} WHERE patient_id = p.id", stamped.split(", ")),
            (f"{course} WHERE patient_id = p.id", stamped.split(", ")),
            (f"{table(DoseStep)} d JOIN {course} c ON d.course_id = c.id WHERE c.patient_id = p.id",
             ["count(*)"]),
            (f"{table(Interruption)} i JOIN {course} c ON i.course_id = c.id WHERE c.patient_id = p.id",
             ["count(*)", "max(i.updated_at)"]),
            (f"{table(LabResult)} l JOIN {visit} v ON l.visit_id = v.id WHERE v.patient_id = p.id",
             ["count(*)"]),
            (f"{table(Assessment)} a JOIN {visit} v ON a.visit_id = v.id WHERE v.patient_id = p.id",
             ["count(*)"]),
            (f"{table(FlagAcknowledgement)} WHERE patient_id = p.id",
             ["count(*)", "max(acknowledged_at)"]),
            # The trend's photo markers (a photograph added or deleted at a visit).
            (f"{table(Photo)} ph JOIN {visit} v ON ph.visit_id = v.id WHERE v.patient_id = p.id",
             ["count(*)", "max(ph.uploaded_at)"]),
        )
        for expr in exprs
    ]
    return f"SELECT p.version, p.updated_at, {', '.join(parts)} FROM {table(Patient)} p WHERE p.id = %s"
