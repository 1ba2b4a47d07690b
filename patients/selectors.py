"""Every read a page needs, in a fixed number of queries.

A page's query count must not grow with the number of patients or visits:
related rows come with select_related/prefetch_related or subqueries, never
one query per row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from django.contrib.auth import get_user_model
from django.db.models import CharField, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Cast
from django.utils import timezone

from clinic.access import scoped
from clinic.models import Clinic, Role
from patients.models import CleSubtype, Course, DoseStep, Interruption, Patient, Visit
from scoring.clasi import Exam, Score, score
from scoring.response import Interpretation, course_baseline, interpret
from scoring.timeline import Assessment as TimelineAssessment
from scoring.timeline import Course as TimelineCourse
from scoring.timeline import PatientTimeline, Thresholds, shift


def patients_for(user) -> QuerySet[Patient]:
    """The user's patients with their clinic, latest CLASI and current dose annotated."""
    from scoring.models import Assessment

    latest = Assessment.objects.filter(visit__patient=OuterRef("pk")).order_by("-visit__date")
    # The dose in force today, with the same "on lenalidomide now" as the list's
    # filter: a planned course or a dose step still to come is not today's dose.
    today = timezone.localdate()
    running_step = (
        DoseStep.objects.filter(
            course__patient=OuterRef("pk"), course__start__lte=today, date__lte=today
        )
        .filter(Q(course__end__isnull=True) | Q(course__end__gte=today))
        .order_by("-date")
    )
    return (
        scoped(user, Patient)
        .select_related("clinic")
        .annotate(
            latest_activity=Subquery(latest.values("activity")[:1]),
            latest_damage=Subquery(latest.values("damage")[:1]),
            latest_assessed=Subquery(latest.values("visit__date")[:1]),
            current_mg=Subquery(running_step.values("mg")[:1]),
            current_every_days=Subquery(running_step.values("every_days")[:1]),
        )
        .order_by("clinic__name", "code")
    )


def patient_record(patient: Patient) -> dict:
    """The visits (with assessment, labs, events) and courses (with dose steps) of
    one patient: four queries whatever the number of visits."""
    visits = list(
        Visit.objects.filter(patient=patient)
        .select_related("assessment", "clinician")
        .prefetch_related("labs", "adverse_events")
        .order_by("date")
    )
    courses = list(
        Course.objects.filter(patient=patient)
        .prefetch_related(Prefetch("dose_steps", queryset=DoseStep.objects.order_by("date")),
                          Prefetch("interruptions", queryset=Interruption.objects.order_by("start")))
        .order_by("start")
    )
    return {"visits": visits, "courses": courses}


def search_patients(
    user,
    *,
    q: str = "",
    on_lenalidomide: bool = False,
    subtype: str = "",
    only_ids: set | None = None,
    today: dt.date | None = None,
) -> QuerySet[Patient]:
    """patients_for(user) narrowed by the list's filters; still one query per page.

    - q: part of the code or of the name, any case;
    - on_lenalidomide: a course that has started and is not withdrawn today;
    - subtype: one of CleSubtype (anything else is ignored, not an error);
    - only_ids: keep these patients only (the open-flag filter's answer).
    """
    qs = patients_for(user)
    if only_ids is not None:
        qs = qs.filter(pk__in=list(only_ids))
    q = q.strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if on_lenalidomide:
        today = today or timezone.localdate()
        running = Course.objects.filter(patient=OuterRef("pk"), start__lte=today).filter(
            Q(end__isnull=True) | Q(end__gte=today)
        )
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
    from scoring.clasi import parse_exam

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


def _course_for(courses: tuple[TimelineCourse, ...], day: dt.date, lookback: int):
    """The course in force on `day`, else a course starting within the baseline
    window after it (the visit would be that course's baseline)."""
    for course in courses:
        if course.start <= day and (course.end is None or day <= course.end):
            return course
    for course in courses:
        if shift(course.start, -lookback) <= day < course.start:
            return course
    return None


def change_from_baseline(
    timeline: PatientTimeline,
    *,
    day: dt.date,
    activity: int,
    damage: int,
    visit_id: str | None,
    thresholds: Thresholds,
) -> BaselineChange:
    """Compare the examination being entered with the current course's
    baseline (scoring.response), treating it as already recorded on `day` so
    that a visit on or just before the start is recognised as the baseline."""
    course = _course_for(timeline.courses, day, thresholds.baseline_lookback_days)
    if course is None:
        return BaselineChange(None, None, None, "No lenalidomide course on this date.")
    # One visit per day: an older assessment on the same day (or this visit's
    # own stored one, when editing) is replaced by what is on the form.
    others = [a for a in timeline.assessments if a.visit_id != visit_id and a.date != day]
    current = TimelineAssessment(THIS_VISIT, day, activity, damage)
    baseline = course_baseline(course, [*others, current], thresholds)
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
                visit: Visit | None = None) -> dict:
    """Everything the live score panel and body map show for an examination
    (four queries for the patient's timeline; none when there is no score)."""
    from patients.bodymap import body_maps
    from scoring.selectors import thresholds, timeline_for

    result: Score | None = score(exam) if exam is not None else None
    context: dict = {"score": result, "maps": body_maps(result), "change": None}
    if result is not None:
        band = exam.definition.severity_band(result.activity)
        context["band"] = band
        context["max_activity"] = exam.definition.max_activity
        context["max_damage"] = exam.definition.max_damage
        if day is not None:
            context["change"] = change_from_baseline(
                timeline_for(patient), day=day, activity=result.activity, damage=result.damage,
                visit_id=str(visit.pk) if visit is not None else None, thresholds=thresholds(),
            )
    return context
