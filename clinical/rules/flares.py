"""Flares after withdrawal or dose reduction: clasi.md section 3 (pure).

No validated CLASI flare definition exists; these are the project's flags
(**project rules**, thresholds in `Thresholds`):

1. Relapse after complete response: in CR at the event (the last CLASI-A on
   or before the event date is 0) and a visit in the watch window has
   CLASI-A >= 1.
2. Worsening (exploratory): not in CR at the event, and a visit in the window
   has CLASI-A >= nadir + mcid_points AND >= nadir + mcid_percent% (the MCID
   in reverse), the nadir being the lowest on-treatment CLASI-A of the course
   up to the event date.
3. Both rules after a dose reduction (a step with a lower daily amount).
5. Loss of response on treatment (exploratory, `loss_of_response_on_treatment`):
   the first on-treatment visit of a watched course whose CLASI-A is >= 4
   points AND >= 20% above the lowest EARLIER on-treatment CLASI-A of the
   course, that lowest having met the MCID against the course's baseline.
   Visits inside a dose-reduction watch are left to rule 3. At most one per
   course; weeks from the course start. (Rule 4, a restart counted as a
   relapse, raises no flag: it lives in clinical.rules.outcomes.)

Each event raises at most one flag, at the first visit that meets its rule.

Interpretations made here (documented in the tests too):
- The reference needs at least one on-treatment CLASI of the course up to the
  event date. Without one there is no nadir and no on-treatment CR to lose,
  so the event raises no flag (a pre-start baseline is not "on treatment").
- Watch windows are (event date, watch_end]: strictly after the event, and a
  visit ON the closing day counts. When the window is closed by the next
  course's start (or the next dose step), the visit of that day is the new
  course's pre-dose baseline (on treatment starts strictly after the start,
  clasi.md section 2), so the skin it records is still that of the interval
  being watched.
- Only watched courses (registry `watched`: lenalidomide, thalidomide) have
  events; a concomitant course of another drug never ends a watch.
- A withdrawal's window is closed by the start of the *next watched course in
  start order*; if that course started on or before the withdrawal date (overlap,
  a data error) the window is empty: the patient was never off the drug.
- A reduction's window is closed by the next dose step of the course (any
  step, even one of the same daily amount: the regimen changed), the end of
  the course, or the watch limit.
- Rule 5 readings: "earlier" is strictly earlier in date (two CLASIs of one
  day never measure each other); the baseline is the course's own (section 2,
  bounded by the previous watched withdrawal), and without one, or with a
  baseline of 0, nothing was responded to and the rule stays silent; the
  lowest earlier value includes visits inside a reduction watch (they are on
  treatment), only the flaring visit must lie outside every reduction watch
  of the course; a visit on the withdrawal day is on treatment and may flag.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from clinical.rules.response import (
    CourseResponse,
    Interpretation,
    baseline_bound,
    course_baseline,
    course_response,
    interpret,
    on_treatment,
)
from clinical.record import (
    DEFAULT_THRESHOLDS,
    Assessment,
    Course,
    DoseStep,
    Interruption,
    PatientRecord,
    Thresholds,
    format_mg,
    shift,
)

if TYPE_CHECKING:  # outcomes imports this module; the name is for type checkers only
    from clinical.rules.outcomes import WithdrawalOutcome

__all__ = [
    "FLAG_KINDS",
    "FLAG_LABELS",
    "CourseSummary",
    "Event",
    "EventKind",
    "Flag",
    "FlagEvent",
    "FlagKind",
    "course_summaries",
    "events",
    "find_flags",
    "meets_worsening",
    "withdrawal_event",
]

EventKind = Literal["withdrawal", "reduction"]
# What a flag is measured from: a withdrawal, a reduction, or (rule 5) the course start.
FlagEvent = Literal["withdrawal", "reduction", "on_treatment"]
FlagKind = Literal[
    "relapse_after_complete_response",
    "worsening_after_withdrawal",
    "relapse_after_dose_reduction",
    "worsening_after_dose_reduction",
    "loss_of_response_on_treatment",
]

FLAG_KINDS: tuple[FlagKind, ...] = (
    "relapse_after_complete_response",
    "worsening_after_withdrawal",
    "relapse_after_dose_reduction",
    "worsening_after_dose_reduction",
    "loss_of_response_on_treatment",
)
FLAG_LABELS: dict[FlagKind, str] = {
    "relapse_after_complete_response": "Relapse after complete response",
    "worsening_after_withdrawal": "Worsening after withdrawal (exploratory)",
    "relapse_after_dose_reduction": "Relapse after dose reduction",
    "worsening_after_dose_reduction": "Worsening after dose reduction (exploratory)",
    "loss_of_response_on_treatment": "Loss of response on treatment (exploratory)",
}
# (event kind, in CR at the event) -> flag kind
_KIND: dict[tuple[EventKind, bool], FlagKind] = {
    ("withdrawal", True): "relapse_after_complete_response",
    ("withdrawal", False): "worsening_after_withdrawal",
    ("reduction", True): "relapse_after_dose_reduction",
    ("reduction", False): "worsening_after_dose_reduction",
}
_EVENT_WORDS: dict[EventKind, str] = {"withdrawal": "withdrawal", "reduction": "dose reduction"}


def _event_key(course_id: str, kind: FlagEvent, day: dt.date) -> str:
    # Watched courses of one patient never overlap, so a withdrawal, a reduction or a
    # course start (rule 5: "on_treatment:<start>") is identified by its kind and date
    # alone. Leaving the course id out keeps a
    # clinician's acknowledgement valid when the course row is re-created
    # (an import with --update) while the event itself is unchanged.
    del course_id
    return f"{kind}:{day.isoformat()}"


@dataclass(frozen=True, slots=True)
class Event:
    """A withdrawal or a dose reduction, with the last day of its watch window."""

    kind: EventKind
    date: dt.date
    course_id: str
    watch_end: dt.date  # the window is (date, watch_end]; equal to `date` when empty
    from_daily_mg: Fraction | None = None  # reductions only
    to_daily_mg: Fraction | None = None  # reductions only
    stop_reason: str | None = None  # withdrawals only

    @property
    def key(self) -> str:
        """Identifies the event; the key of every flag the event raises."""
        return _event_key(self.course_id, self.kind, self.date)

    @property
    def label(self) -> str:
        """ "Withdrawal (remission)", "Dose reduction 10 -> 5 mg/day"."""
        if self.kind == "withdrawal":
            return f"Withdrawal ({self.stop_reason})" if self.stop_reason else "Withdrawal"
        assert self.from_daily_mg is not None and self.to_daily_mg is not None
        return (
            f"Dose reduction {format_mg(self.from_daily_mg)} -> "
            f"{format_mg(self.to_daily_mg)} mg/day"
        )

    def watches(self, day: dt.date) -> bool:
        return self.date < day <= self.watch_end


@dataclass(frozen=True, slots=True)
class Flag:
    """The one flag an event raised: the first visit in its window that met its rule."""

    kind: FlagKind
    exploratory: bool  # rules 2 and 5 (worsening, loss of response): nothing validated behind them
    course_id: str
    event: FlagEvent
    event_date: dt.date  # the withdrawal, the reduction, or (rule 5) the course start
    visit_id: str
    date: dt.date  # the flaring visit
    weeks_after: int  # (date - event_date).days // 7, clasi.md section 3
    days_after: int
    activity: int  # CLASI-A at the flaring visit
    # 0 for a relapse after CR; the nadir for a worsening; for a loss of response on
    # treatment the lowest on-treatment CLASI-A before the flaring visit.
    reference_activity: int
    drug_label: str = "Lenalidomide"  # the course's drug, for the words of rule 5

    @property
    def key(self) -> str:
        """Identifies the EVENT, so an acknowledgement outlives re-computation and a
        flag of a new withdrawal or reduction shows again."""
        return _event_key(self.course_id, self.event, self.event_date)

    @property
    def label(self) -> str:
        return FLAG_LABELS[self.kind]

    @property
    def is_relapse(self) -> bool:
        return not self.exploratory

    @property
    def event_words(self) -> str:
        """What the flag is measured from, to follow "... weeks after the ... of <date>":
        "withdrawal", "dose reduction", "start of the lenalidomide course"."""
        if self.event == "on_treatment":
            return f"start of the {self.drug_label.lower()} course"
        return _EVENT_WORDS[self.event]

    @property
    def after_text(self) -> str:
        """ "3 weeks" (clasi.md section 3 reports whole weeks); "5 days" inside the first week."""
        if self.days_after < 7:
            return f"{self.days_after} day{'s' if self.days_after != 1 else ''}"
        return f"{self.weeks_after} week{'s' if self.weeks_after != 1 else ''}"

    @property
    def description(self) -> str:
        after = self.after_text
        if self.event == "on_treatment":
            return (
                f"{self.label}: CLASI-A {self.activity} at the visit of {self.date.isoformat()}, "
                f"{after} after the start of {self.drug_label.lower()} on "
                f"{self.event_date.isoformat()} (lowest earlier on-treatment CLASI-A: "
                f"{self.reference_activity})"
            )
        event = _EVENT_WORDS[self.event]
        if self.exploratory:
            reference = f"lowest on-treatment CLASI-A up to the {event}: {self.reference_activity}"
        else:
            reference = "in complete response at " + (
                "withdrawal" if self.event == "withdrawal" else "the reduction"
            )
        return (
            f"{self.label}: CLASI-A {self.activity} at the visit of {self.date.isoformat()}, "
            f"{after} after {event} on {self.event_date.isoformat()} ({reference})"
        )


def meets_worsening(activity: int, nadir: int, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    """Rule 2: >= mcid_points AND >= mcid_percent% above the nadir (the MCID in reverse).

    Exact integers: (A - nadir) * 100 >= percent * nadir. Nadir 20 -> 24 flags
    (4 points, 20%); nadir 30 -> 34 does not (4 points but 13%).
    """
    rise = activity - nadir
    return rise >= thresholds.mcid_points and rise * 100 >= thresholds.mcid_percent * nadir


def _withdrawal(course: Course, next_course: Course | None, watch_days: int) -> Event:
    assert course.end is not None
    limits = [shift(course.end, watch_days)]
    if next_course is not None:
        limits.append(next_course.start)  # inclusive: that day is the new pre-dose baseline
    return Event(
        kind="withdrawal",
        date=course.end,
        course_id=course.id,
        watch_end=max(course.end, min(limits)),
        stop_reason=course.stop_reason,
    )


def _reductions(course: Course, watch_days: int) -> list[Event]:
    found = []
    steps = course.doses
    for i in range(1, len(steps)):
        before, step = steps[i - 1], steps[i]
        # A lower DAILY amount: 10 mg daily -> 10 mg every 2 days is a reduction,
        # 5 mg daily -> 10 mg every 2 days is not (clasi.md section 3).
        if step.daily_mg >= before.daily_mg:
            continue
        limits = [shift(step.date, watch_days)]
        if i + 1 < len(steps):
            limits.append(steps[i + 1].date)
        if course.end is not None:
            limits.append(course.end)
        found.append(
            Event(
                kind="reduction",
                date=step.date,
                course_id=course.id,
                watch_end=max(step.date, min(limits)),
                from_daily_mg=before.daily_mg,
                to_daily_mg=step.daily_mg,
            )
        )
    return found


def withdrawal_event(
    timeline: PatientRecord, course: Course, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> Event | None:
    """The withdrawal of one watched course with its watch window (None while it runs,
    or for a drug that is not watched): the same Event `events` lists."""
    if not course.watched or course.end is None:
        return None
    return _withdrawal(course, timeline.next_watched(course), thresholds.watch_days)


def events(timeline: PatientRecord, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[Event]:
    """Every withdrawal and every dose reduction of a WATCHED course (clasi.md section 3).

    Courses of other drugs raise no event and never end a watch: a
    withdrawal's watch is closed by the next watched course only. An
    interruption is neither: the course runs through it. Sorted by date, then
    course order, a reduction before a withdrawal of the same day (so a chart
    draws them in time order).
    """
    found: list[tuple[tuple[dt.date, int, int], Event]] = []
    for index, course in enumerate(timeline.watched_courses):
        for event in _reductions(course, thresholds.watch_days):
            found.append(((event.date, index, 0), event))
        withdrawal = withdrawal_event(timeline, course, thresholds)
        if withdrawal is not None:
            found.append(((withdrawal.date, index, 1), withdrawal))
    return [event for _, event in sorted(found, key=lambda pair: pair[0])]


def _flag_for(
    event: Event, course: Course, assessments: tuple[Assessment, ...], thresholds: Thresholds
) -> Flag | None:
    treated = [a for a in assessments if course.start < a.date <= event.date]
    if not treated:
        return None  # no on-treatment CLASI before the event: no nadir, no CR to lose
    in_cr = treated[-1].activity == 0  # the last CLASI-A on or before the event date
    nadir = min(a.activity for a in treated)
    for visit in assessments:
        if not event.watches(visit.date):
            continue
        if in_cr:
            hit = visit.activity >= 1
        else:
            hit = meets_worsening(visit.activity, nadir, thresholds)
        if hit:
            days = (visit.date - event.date).days
            return Flag(
                kind=_KIND[(event.kind, in_cr)],
                exploratory=not in_cr,
                course_id=course.id,
                event=event.kind,
                event_date=event.date,
                visit_id=visit.visit_id,
                date=visit.date,
                weeks_after=days // 7,
                days_after=days,
                activity=visit.activity,
                reference_activity=0 if in_cr else nadir,
                drug_label=course.label,
            )
    return None


def _loss_of_response(
    course: Course,
    assessments: tuple[Assessment, ...],
    baseline: Assessment | None,
    reductions: list[Event],
    thresholds: Thresholds,
) -> Flag | None:
    """Rule 5: the first on-treatment visit outside every reduction watch of the course
    whose CLASI-A meets the worsening rule against the lowest strictly earlier
    on-treatment CLASI-A, that lowest having met the MCID against the baseline."""
    if baseline is None or baseline.activity == 0:
        return None  # no baseline, or started clear: there was no response to lose
    lowest: int | None = None  # over the visits of EARLIER days
    responded = False  # that lowest met the MCID against the baseline (stays true: it only falls)
    pending: int | None = None  # the lowest of the day being read
    day: dt.date | None = None
    for visit in on_treatment(course, assessments):
        if visit.date != day:
            if pending is not None and (lowest is None or pending < lowest):
                lowest = pending
                responded = responded or interpret(baseline.activity, lowest, thresholds).meets_mcid
            day, pending = visit.date, None
        pending = visit.activity if pending is None else min(pending, visit.activity)
        if lowest is None or not responded:
            continue  # nothing earlier yet / no response yet, so nothing to lose
        if any(r.watches(visit.date) for r in reductions):
            continue  # left to rule 3
        if meets_worsening(visit.activity, lowest, thresholds):
            days = (visit.date - course.start).days
            return Flag(
                kind="loss_of_response_on_treatment",
                exploratory=True,
                course_id=course.id,
                event="on_treatment",
                event_date=course.start,
                visit_id=visit.visit_id,
                date=visit.date,
                weeks_after=days // 7,
                days_after=days,
                activity=visit.activity,
                reference_activity=lowest,
                drug_label=course.label,
            )
    return None


def find_flags(
    timeline: PatientRecord,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    today: dt.date | None = None,
) -> list[Flag]:
    """Every flag of clasi.md section 3 for one patient, sorted by visit date.

    `today` reads the record as it stood that day (`PatientRecord.as_of`);
    None uses everything recorded.
    """
    timeline = timeline.as_of(today)
    by_id = {c.id: c for c in timeline.courses}
    flags = []
    found = events(timeline, thresholds)
    for event in found:
        flag = _flag_for(event, by_id[event.course_id], timeline.assessments, thresholds)
        if flag is not None:
            flags.append(flag)
    for course in timeline.watched_courses:
        baseline = course_baseline(
            course, timeline.assessments, thresholds, baseline_bound(timeline, course)
        )
        reductions = [e for e in found if e.kind == "reduction" and e.course_id == course.id]
        flag = _loss_of_response(course, timeline.assessments, baseline, reductions, thresholds)
        if flag is not None:
            flags.append(flag)
    return sorted(flags, key=lambda f: (f.date, f.event_date, f.course_id, f.event))


@dataclass(frozen=True, slots=True)
class CourseSummary:
    """One course as the patient page shows it."""

    course_id: str
    start: dt.date
    end: dt.date | None  # the withdrawal date
    stop_reason: str | None
    doses: tuple[DoseStep, ...]
    current_dose: DoseStep | None  # in force today (running) or at withdrawal (ended)
    response: CourseResponse | None  # None for a course of a drug that is not watched
    withdrawal_flag: Flag | None  # the one flag the withdrawal raised (relapse or worsening)
    reduction_flags: tuple[Flag, ...]  # flags raised by this course's dose reductions
    drug: str = "lenalidomide"
    label: str = "Lenalidomide"
    watched: bool = True
    interruptions: tuple[Interruption, ...] = ()
    on_treatment_flag: Flag | None = None  # rule 5: loss of response on treatment
    # What became of a withdrawal in CR (clinical.rules.outcomes.WithdrawalOutcome:
    # relapsed by a flag or a restart, relapse-free, lost to follow-up); None otherwise.
    after_withdrawal: WithdrawalOutcome | None = None

    @property
    def ongoing(self) -> bool:
        return self.end is None

    @property
    def evaluable(self) -> bool:
        return self.response is not None and self.response.evaluable

    @property
    def baseline_activity(self) -> int | None:
        r = self.response
        return r.baseline.activity if r is not None and r.baseline else None

    @property
    def best_activity(self) -> int | None:
        r = self.response
        return r.best.activity if r is not None and r.best else None

    @property
    def best_date(self) -> dt.date | None:
        r = self.response
        return r.best.date if r is not None and r.best else None

    @property
    def interpretation(self) -> Interpretation | None:
        return self.response.interpretation if self.response is not None else None

    @property
    def category(self) -> str | None:
        return self.response.category if self.response is not None else None

    @property
    def category_label(self) -> str | None:
        interpretation = self.interpretation
        return interpretation.label if interpretation else None

    @property
    def time_to_complete_response_days(self) -> int | None:
        r = self.response
        return r.time_to_complete_response_days if r is not None else None

    @property
    def time_to_complete_response_weeks(self) -> int | None:
        r = self.response
        return r.time_to_complete_response_weeks if r is not None else None

    @property
    def ended_in_complete_response(self) -> bool:
        return self.response is not None and self.response.ended_in_complete_response

    @property
    def relapse_flag(self) -> Flag | None:
        """The relapse-after-CR flag of the withdrawal, if any (what the cohort report counts)."""
        flag = self.withdrawal_flag
        return flag if flag is not None and flag.kind == "relapse_after_complete_response" else None

    @property
    def weeks_to_relapse(self) -> int | None:
        """Whole weeks from the withdrawal in CR to the relapse flag or the restart (rule 4)."""
        outcome = self.after_withdrawal
        if outcome is not None:
            return outcome.weeks_to_relapse
        flag = self.relapse_flag
        return flag.weeks_after if flag is not None else None

    @property
    def relapsed_by_restart(self) -> bool:
        """Rule 4: no relapse flag, but a watched course restarted inside the watch."""
        outcome = self.after_withdrawal
        return outcome is not None and outcome.cause == "restart"


def course_summaries(
    timeline: PatientRecord,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    today: dt.date | None = None,
) -> list[CourseSummary]:
    """Per course of every drug, in start order: baseline, best response, time to CR,
    withdrawal, flags, dose. Only watched courses carry a response and flags
    (clasi.md section 3); the others are listed with their doses and holds."""
    # Local import: outcomes builds on this module (one definition of the outcome after a
    # withdrawal in CR, shared by the patient page and the cohort report).
    from clinical.rules.outcomes import outcome_after_withdrawal_in_cr

    timeline = timeline.as_of(today)
    flags = find_flags(timeline, thresholds)
    summaries = []
    for course in timeline.courses:
        mine = [f for f in flags if f.course_id == course.id]
        summaries.append(
            CourseSummary(
                course_id=course.id,
                start=course.start,
                end=course.end,
                stop_reason=course.stop_reason,
                doses=course.doses,
                current_dose=course.dose_on(course.end if course.end is not None else today),
                response=(
                    course_response(
                        course,
                        timeline.assessments,
                        today,
                        thresholds,
                        baseline_bound(timeline, course),
                    )
                    if course.watched
                    else None
                ),
                drug=course.drug,
                label=course.label,
                watched=course.watched,
                interruptions=course.interruptions,
                withdrawal_flag=next((f for f in mine if f.event == "withdrawal"), None),
                reduction_flags=tuple(f for f in mine if f.event == "reduction"),
                on_treatment_flag=next((f for f in mine if f.event == "on_treatment"), None),
                after_withdrawal=outcome_after_withdrawal_in_cr(
                    timeline, course, thresholds, flags
                ),
            )
        )
    return summaries
