"""The cohort outcome report and the cohort chart datasets (pure).

`cohort_report` returns exactly "The outcome report" of exchange-format.md:
the same keys in the same order, JSON-ready (ints, floats, None, lists).
Counts and rates are computed exactly (ints and Fractions) and only rounded
at the end, half-up, so 0.0625 shows as 0.063 and 14.25 as 14.3, never
"banker's" 14.2 from a float.

The chart datasets (`relapse_free_curve`, `mean_activity_by_week`) are plain
data too; `clinical/charts/cohort.py` (plotly) draws them.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from clinical.rules import report_sections
from clinical.rules.flares import FLAG_LABELS, Event, Flag, events, find_flags, withdrawal_event
from clinical.rules.report_sections import CourseFacts
from clinical.rules.response import (
    CourseResponse,
    baseline_bound,
    course_baseline,
    course_response,
    on_treatment,
)
from clinical.record import DEFAULT_THRESHOLDS, Course, PatientRecord, Thresholds, shift

__all__ = [
    "REPORT_KEYS",
    "KMStep",
    "KMSubject",
    "KaplanMeier",
    "PatientRules",
    "WeekActivity",
    "WithdrawalOutcome",
    "cohort_report",
    "format_text",
    "mean_activity_by_week",
    "outcome_after_withdrawal_in_cr",
    "relapse_free_curve",
    "round_half_up",
    "run_rules",
]

# The keys of exchange-format.md "The outcome report", in its order.
REPORT_KEYS: tuple[str, ...] = (
    "drug",
    "patients",
    "courses",
    "evaluable_courses",
    "stopped_for_adverse_event",
    "improved",
    "complete_response",
    "partial_response",
    "complete_response_rate",
    "patients_evaluable",
    "patients_complete_response",
    "patient_complete_response_rate",
    "withdrawn_in_complete_response",
    "followed_after_withdrawal_in_cr",
    "relapsed_after_withdrawal",
    "relapse_rate",
    "weeks_to_relapse",
    "weeks_to_improvement",
    "weeks_to_complete_response",
    "mean_baseline_activity",
    "mean_activity_by_week",
    "mean_baseline_damage",
    "mean_last_damage",
    "max_daily_dose",
    "adverse_events",
    "progressed_to_sle",
    "follow_up_weeks",
    "flags",
)

def round_half_up(value: Fraction | int, places: int) -> Decimal:
    """Round an exact value half away from zero: 0.0625 -> 0.063 (3), 14.25 -> 14.3 (1)."""
    scaled = Fraction(value) * 10**places
    whole = math.floor(abs(scaled) + Fraction(1, 2))
    return Decimal(whole if scaled >= 0 else -whole).scaleb(-places)


def _rate(numerator: int, denominator: int) -> float | None:
    # A zero denominator is "not applicable", never 0.0 (exchange-format.md).
    return float(round_half_up(Fraction(numerator, denominator), 3)) if denominator else None


def _json_number(value: Fraction) -> int | float:
    return value.numerator if value.denominator == 1 else float(value)


WithdrawalStatus = Literal["relapsed", "relapse_free", "lost_to_follow_up"]


@dataclass(frozen=True, slots=True)
class WithdrawalOutcome:
    """What became of one course withdrawn in complete response (clasi.md section 3,
    rules 1 and 4; exchange-format.md, the relapse keys).

    - relapsed: its withdrawal raised a relapse_after_complete_response flag
      (cause "flag", on the flag's visit), or a new watched course started
      inside the watch with no such flag before it (rule 4, cause "restart",
      on the restart date);
    - relapse_free: followed (a CLASI after the withdrawal inside the watch)
      and neither of the above;
    - lost_to_follow_up: no CLASI after the withdrawal inside the watch and no
      restart: the outcome is unknown, so it stays out of the relapse rate.
    """

    course_id: str
    withdrawal: dt.date
    status: WithdrawalStatus
    relapse_date: dt.date | None = None
    cause: Literal["flag", "restart"] | None = None
    flag: Flag | None = None  # the relapse flag, when the cause is a flag
    last_seen: dt.date | None = None  # the last CLASI after the withdrawal inside the watch

    @property
    def relapsed(self) -> bool:
        return self.status == "relapsed"

    @property
    def followed(self) -> bool:
        """The outcome is known: the denominator of the relapse rate."""
        return self.status != "lost_to_follow_up"

    @property
    def lost_to_follow_up(self) -> bool:
        return self.status == "lost_to_follow_up"

    @property
    def days_to_relapse(self) -> int | None:
        return None if self.relapse_date is None else (self.relapse_date - self.withdrawal).days

    @property
    def weeks_to_relapse(self) -> int | None:
        """Whole weeks, days // 7 (clasi.md section 3)."""
        days = self.days_to_relapse
        return None if days is None else days // 7

    @property
    def follow_up_days(self) -> int:
        """Days from the withdrawal to the relapse, else to the last CLASI in the watch
        (the Kaplan-Meier time; 0 when lost to follow-up)."""
        if self.relapse_date is not None:
            return (self.relapse_date - self.withdrawal).days
        return (self.last_seen - self.withdrawal).days if self.last_seen is not None else 0


def outcome_after_withdrawal_in_cr(
    record: PatientRecord,
    course: Course,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    flags: Iterable[Flag] | None = None,
) -> WithdrawalOutcome | None:
    """The outcome after withdrawal in CR of one course; None when the course was not
    withdrawn in complete response (not ended, or no CLASI on treatment, or the
    last on-treatment CLASI-A, the one on or before the withdrawal, is not 0).

    `record` is read as it stands (pass `record.as_of(day)` for a past day);
    `flags` are `find_flags(record, thresholds)` when the caller has them.

    Readings (exchange-format.md leaves them open):
    - A relapse flag dated ON the restart day (the watch closes that day,
      inclusive) is the cause, with the same date; rule 4 applies only when no
      flag came first.
    - The restart is the next WATCHED course (lenalidomide or thalidomide,
      either drug) starting strictly after the withdrawal and no later than
      the watch limit (withdrawal + watch_weeks). A course of any other drug
      never counts. A watched course starting on or before the withdrawal day
      (an overlap the forms refuse) is no restart: the patient was never off
      the drug, no follow-up exists, and the course counts as lost to follow-up.
    - "Followed" needs a CLASI strictly after the withdrawal inside the watch
      (a visit on the restart day counts: it is inside the watch), or a restart.
    """
    if not course.watched or course.end is None:
        return None
    treated = on_treatment(course, record.assessments)
    if not treated or treated[-1].activity != 0:
        return None
    withdrawal = withdrawal_event(record, course, thresholds)
    assert withdrawal is not None  # a watched course that ended
    if flags is None:
        flags = find_flags(record, thresholds)
    flag = next(
        (
            f
            for f in flags
            if f.course_id == course.id and f.kind == "relapse_after_complete_response"
        ),
        None,
    )
    seen = [a.date for a in record.assessments if withdrawal.watches(a.date)]
    last_seen = seen[-1] if seen else None
    base = {"course_id": course.id, "withdrawal": course.end, "last_seen": last_seen}
    if flag is not None:
        return WithdrawalOutcome(
            status="relapsed", relapse_date=flag.date, cause="flag", flag=flag, **base
        )
    following = record.next_watched(course)
    if (
        following is not None
        and course.end < following.start <= shift(course.end, thresholds.watch_days)
    ):
        return WithdrawalOutcome(
            status="relapsed", relapse_date=following.start, cause="restart", **base
        )
    return WithdrawalOutcome(
        status="relapse_free" if last_seen is not None else "lost_to_follow_up", **base
    )


@dataclass(frozen=True, slots=True)
class _CourseOutcome:
    patient: str
    evaluable: bool
    category: str | None
    baseline_activity: int | None
    adverse_event_stop: bool
    after_withdrawal: WithdrawalOutcome | None  # None unless withdrawn in CR

@dataclass(frozen=True, slots=True)
class PatientRules:
    """One patient's record as of the report day, with the rules run on it once.

    The cohort page draws the report, the Kaplan-Meier curve and the activity
    chart from the same `run_rules` answer, so a request runs the rules once
    and the three cannot disagree.
    """

    record: PatientRecord  # as of the report day
    flags: tuple[Flag, ...]  # every flag of the record (all drugs' courses)
    responses: dict[str, CourseResponse]  # course id -> response, courses of the drug
    thresholds: Thresholds
    today: dt.date | None
    # Filled on first use: the report needs neither, the Kaplan-Meier curve the first.
    _withdrawals: dict[str, Event] | None = None
    _courses: dict[str, list[CourseFacts]] | None = None

    @property
    def withdrawals(self) -> dict[str, Event]:
        """Course id -> its withdrawal event (computed once, for the Kaplan-Meier curve)."""
        if self._withdrawals is None:
            found = {
                e.course_id: e
                for e in events(self.record, self.thresholds)
                if e.kind == "withdrawal"
            }
            object.__setattr__(self, "_withdrawals", found)
        return self._withdrawals  # type: ignore[return-value]

    def courses(self, drug: str) -> list[CourseFacts]:
        """The drug's courses with their responses and on-treatment CLASIs (once)."""
        if self._courses is None:
            object.__setattr__(self, "_courses", {})
        cache = self._courses
        assert cache is not None
        if drug not in cache:
            cache[drug] = [
                CourseFacts(
                    self.record,
                    c,
                    self.responses[c.id],
                    on_treatment(c, self.record.assessments, self.today),
                )
                for c in self.record.courses_of(drug)
            ]
        return cache[drug]


def run_rules(
    timelines: Iterable[PatientRecord],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    today: dt.date | None = None,
    drug: str = "lenalidomide",
) -> tuple[PatientRules, ...]:
    """Each record as of `today`, with its flags, withdrawals and course responses,
    in patient code order."""
    found = []
    for timeline in sorted((t.as_of(today) for t in timelines), key=lambda t: t.code):
        found.append(
            PatientRules(
                record=timeline,
                flags=tuple(find_flags(timeline, thresholds)),
                responses={
                    c.id: _response(timeline, c, thresholds, today)
                    for c in timeline.courses_of(drug)
                },
                thresholds=thresholds,
                today=today,
            )
        )
    return tuple(found)



def drug_ids(timeline: PatientRecord, drug: str) -> frozenset[str]:
    """Ids of the patient's courses of `drug`."""
    return frozenset(c.id for c in timeline.courses_of(drug))

def _response(timeline: PatientRecord, course, thresholds: Thresholds, today: dt.date | None):
    return course_response(
        course, timeline.assessments, today, thresholds, baseline_bound(timeline, course)
    )


def _outcomes(
    timeline: PatientRecord,
    flags: list[Flag],
    responses: dict[str, CourseResponse],
    drug: str,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[_CourseOutcome]:
    found = []
    for course in timeline.courses_of(drug):
        response = responses[course.id]
        found.append(
            _CourseOutcome(
                patient=timeline.code,
                evaluable=response.evaluable,
                category=response.category,
                baseline_activity=response.baseline.activity if response.baseline else None,
                adverse_event_stop=course.stop_reason == "adverse_event",
                after_withdrawal=outcome_after_withdrawal_in_cr(
                    timeline, course, thresholds, flags
                ),
            )
        )
    return found


def cohort_report(
    timelines: Iterable[PatientRecord],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    today: dt.date | None = None,
    drug: str = "lenalidomide",
    *,
    rules: tuple[PatientRules, ...] | None = None,
) -> dict[str, Any]:
    """The outcome report of exchange-format.md for these patients, as of `today`,
    over the courses of one watched `drug` (the others never raise flags).

    - patients, courses: everything; stopped_for_adverse_event: every course
      whose stop reason is adverse_event (evaluable or not).
    - improved / complete_response / partial_response: evaluable courses by
      their best on-treatment response (CR and PR count as improved).
    - withdrawn_in_complete_response: ended courses whose last on-treatment
      CLASI-A is 0 (evaluable or not: a missing baseline does not undo a CR).
    - followed_after_withdrawal_in_cr / relapsed_after_withdrawal /
      relapse_rate / weeks_to_relapse: from `outcome_after_withdrawal_in_cr`
      (a restart inside the watch is a relapse on the restart date, rule 4; a
      course never seen again stays out of the denominator).
    - flags: every flag, patient code then date order.
    - the paper's sections (per patient, times, weeks, damage, dose, adverse
      events, SLE, follow-up): clinical.rules.report_sections.

    `rules`: the answer of `run_rules` for the same arguments, when the caller
    already has it (the cohort page); computed here otherwise.
    """
    if rules is None:
        rules = run_rules(timelines, thresholds, today, drug)
    patients = [r.record for r in rules]
    outcomes: list[_CourseOutcome] = []
    flag_rows: list[dict[str, Any]] = []
    for r in rules:
        timeline = r.record
        flags = [f for f in r.flags if f.course_id in drug_ids(timeline, drug)]
        outcomes.extend(_outcomes(timeline, list(r.flags), r.responses, drug, r.thresholds))
        flag_rows.extend(
            {
                "patient": timeline.code,
                "kind": f.kind,
                "date": f.date.isoformat(),
                "weeks_after": f.weeks_after,
                "activity": f.activity,
            }
            for f in flags
        )

    evaluable = [o for o in outcomes if o.evaluable]
    complete = sum(o.category == "complete" for o in evaluable)
    withdrawn = [o.after_withdrawal for o in outcomes if o.after_withdrawal is not None]
    followed = [w for w in withdrawn if w.followed]
    relapses = [w for w in followed if w.relapsed]
    weeks = [Fraction(w.weeks_to_relapse or 0) for w in relapses]
    baselines = [o.baseline_activity for o in evaluable if o.baseline_activity is not None]

    report: dict[str, Any] = {
        "patients": len(patients),
        "courses": len(outcomes),
        "evaluable_courses": len(evaluable),
        "stopped_for_adverse_event": sum(o.adverse_event_stop for o in outcomes),
        "improved": sum(o.category in ("complete", "partial", "improved") for o in evaluable),
        "complete_response": complete,
        "partial_response": sum(o.category == "partial" for o in evaluable),
        "complete_response_rate": _rate(complete, len(evaluable)),
        "withdrawn_in_complete_response": len(withdrawn),
        "followed_after_withdrawal_in_cr": len(followed),
        "relapsed_after_withdrawal": len(relapses),
        "relapse_rate": _rate(len(relapses), len(followed)),
        "weeks_to_relapse": {
            "min": _json_number(min(weeks)) if weeks else None,
            # statistics.median of Fractions is exact: (4 + 5) / 2 -> 4.5, (3 + 5) / 2 -> 4.
            "median": _json_number(statistics.median(weeks)) if weeks else None,
            "max": _json_number(max(weeks)) if weeks else None,
        },
        "mean_baseline_activity": (
            float(round_half_up(Fraction(sum(baselines), len(baselines)), 1)) if baselines else None
        ),
        "flags": flag_rows,
    }
    report["drug"] = drug
    courses = [c for r in rules for c in r.courses(drug)]
    report.update(report_sections.report_sections(courses, today, thresholds))
    # exchange-format.md's order; a missing or unknown key fails here, not in a reader.
    assert set(report) == set(REPORT_KEYS), set(report) ^ set(REPORT_KEYS)
    return {key: report[key] for key in REPORT_KEYS}


# ---------------------------------------------------------------- text


def _percent(rate: float | None) -> str:
    if rate is None:
        return "n/a"
    return f"{(Decimal(str(rate)) * 100).quantize(Decimal('0.1'))}%"


def _of(count: int, total: int, rate: float | None = None) -> str:
    text = f"{count} of {total}"
    return f"{text} ({_percent(rate)})" if rate is not None else text


def _range(weeks: dict[str, Any]) -> str:
    return "n/a" if weeks["min"] is None else f"{weeks['min']} / {weeks['median']} / {weeks['max']}"


def _one_decimal(mean: float | None) -> str:
    return "n/a" if mean is None else f"{mean:.1f}"


def _table(header: tuple[str, ...], table: list[tuple[str, ...]]) -> list[str]:
    if not table:
        return ["none"]
    widths = [max(len(r[i]) for r in (header, *table)) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (header, *table)
    ]


def _published_lines() -> list[str]:
    """One line per published series (clinical/published_series.py, the one copy)."""
    from clinical.published_series import PUBLISHED_SERIES

    def pct(rate: Fraction | None) -> str:
        return "not reported" if rate is None else f"{round_half_up(rate * 100, 0)}%"

    def cr(s) -> str:
        if s.complete_response is not None and s.evaluable:
            return f"{s.complete_response} of {s.evaluable} ({pct(s.cr_rate)})"
        return pct(s.cr_rate)

    return [
        f"{s.name} ({s.patients} patients): complete response {cr(s)}, "
        f"relapse after withdrawal {pct(s.relapse_rate)}"
        + (f" ({s.weeks_to_relapse} weeks after)" if s.weeks_to_relapse else "")
        for s in PUBLISHED_SERIES
    ]


def format_text(report: dict[str, Any]) -> str:
    """The report as a plain-text table a clinic lead can paste into a letter."""
    evaluable = report["evaluable_courses"]
    weeks = report["weeks_to_relapse"]
    mean = report["mean_baseline_activity"]
    drug = str(report["drug"]).capitalize()
    rows = [
        ("Patients", str(report["patients"])),
        (f"{drug} courses", str(report["courses"])),
        ("Evaluable courses (baseline + on-treatment CLASI)", str(evaluable)),
        ("Stopped for an adverse event", str(report["stopped_for_adverse_event"])),
        ("Improved (MCID or better)", _of(report["improved"], evaluable)),
        (
            "Complete response (CLASI-A 0)",
            _of(report["complete_response"], evaluable, report["complete_response_rate"]),
        ),
        ("Partial response (>= 50% fall)", _of(report["partial_response"], evaluable)),
        ("Patients with an evaluable course", str(report["patients_evaluable"])),
        (
            "Patients in complete response",
            _of(
                report["patients_complete_response"],
                report["patients_evaluable"],
                report["patient_complete_response_rate"],
            ),
        ),
        ("Weeks to improvement (min / median / max)", _range(report["weeks_to_improvement"])),
        (
            "Weeks to complete response (min / median / max)",
            _range(report["weeks_to_complete_response"]),
        ),
        ("Withdrawn in complete response", str(report["withdrawn_in_complete_response"])),
        (
            "  followed after withdrawal (outcome known)",
            str(report["followed_after_withdrawal_in_cr"]),
        ),
        (
            "  lost to follow-up (no CLASI since, no restart)",
            str(
                report["withdrawn_in_complete_response"]
                - report["followed_after_withdrawal_in_cr"]
            ),
        ),
        (
            "Relapsed after withdrawal (flag or restart)",
            _of(
                report["relapsed_after_withdrawal"],
                report["followed_after_withdrawal_in_cr"],
                report["relapse_rate"],
            ),
        ),
        (
            "Weeks to relapse (min / median / max)",
            "n/a"
            if weeks["min"] is None
            else f"{weeks['min']} / {weeks['median']} / {weeks['max']}",
        ),
        ("Mean baseline CLASI-A (evaluable courses)", "n/a" if mean is None else f"{mean:.1f}"),
        ("Mean CLASI-D at baseline", _one_decimal(report["mean_baseline_damage"])),
        ("Mean CLASI-D at the last CLASI on treatment", _one_decimal(report["mean_last_damage"])),
        ("Progressed to SLE (patients)", str(report["progressed_to_sle"])),
        ("Follow-up weeks (min / median / max)", _range(report["follow_up_weeks"])),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{drug} for cutaneous lupus: cohort outcome report", ""]
    lines += [f"{label:<{width}}  {value}" for label, value in rows]
    by_week = report["mean_activity_by_week"]
    lines += ["", "Mean CLASI-A by week (evaluable courses; visit within 7 days of the week)"]
    lines += _table(
        ("Week", "Mean CLASI-A", "n"),
        [
            (week, _one_decimal(cell["mean"]), str(cell["n"]))
            for week, cell in by_week.items()
            if by_week["0"]["n"]  # no evaluable course: the section says none
        ],
    )
    lines += ["", "Highest daily dose (evaluable courses)"]
    lines += _table(
        ("mg/day", "Courses"), [(mg, str(n)) for mg, n in report["max_daily_dose"].items()]
    )
    lines += ["", "Adverse events (course start to 30 days after its end)"]
    lines += _table(
        ("Term", "Patients", "Highest grade"),
        [(e["term"], str(e["patients"]), str(e["max_grade"])) for e in report["adverse_events"]],
    )
    lines += [
        "",
        "Flags after withdrawal, dose reduction or loss of response on treatment "
        f"({len(report['flags'])})",
    ]
    if report["flags"]:
        header = ("Patient", "Visit", "Flag", "Weeks after", "CLASI-A")
        table = [
            (
                f["patient"],
                f["date"],
                FLAG_LABELS.get(f["kind"], f["kind"]),
                str(f["weeks_after"]),
                str(f["activity"]),
            )
            for f in report["flags"]
        ]
        widths = [max(len(r[i]) for r in (header, *table)) for i in range(len(header))]
        for row in (header, *table):
            lines.append(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
    else:
        lines.append("none")
    lines += [
        "",
        "For context only, not a benchmark (published series; different patients,",
        "selection and follow-up):",
        *(f"  {line}" for line in _published_lines()),
        "Flags marked exploratory use an unvalidated worsening rule (MCID in reverse).",
        "A restart of a watched drug within the watch counts as a relapse on the restart date.",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- Kaplan-Meier


@dataclass(frozen=True, slots=True)
class KMSubject:
    """One course withdrawn in complete response, followed until relapse or censoring."""

    patient: str
    course_id: str
    withdrawal: dt.date
    time_days: int
    relapsed: bool  # False: censored

    @property
    def time_weeks(self) -> Fraction:
        return Fraction(self.time_days, 7)


@dataclass(frozen=True, slots=True)
class KMStep:
    time_days: int
    at_risk: int  # still followed and relapse-free just before this time
    events: int
    censored: int
    survival: Fraction  # relapse-free proportion after this time, exact

    @property
    def time_weeks(self) -> Fraction:
        return Fraction(self.time_days, 7)


@dataclass(frozen=True, slots=True)
class KaplanMeier:
    subjects: tuple[KMSubject, ...]
    steps: tuple[KMStep, ...]  # a row at time 0, then one per time with an event or censoring

    @property
    def n(self) -> int:
        return len(self.subjects)

    @property
    def events(self) -> int:
        return sum(s.relapsed for s in self.subjects)

    @property
    def censored(self) -> int:
        return self.n - self.events

    @property
    def median_days(self) -> int | None:
        """The first time the relapse-free proportion is <= 1/2 (None if never)."""
        return next((s.time_days for s in self.steps if s.survival <= Fraction(1, 2)), None)

    def at_risk_table(self, every_weeks: int = 4) -> tuple[tuple[int, int], ...]:
        """(week, number at risk) under a KM plot: subjects followed for >= that many weeks."""
        if not self.subjects:
            return ()
        last = max(s.time_days for s in self.subjects)
        weeks = range(0, last // 7 + 1, every_weeks)
        return tuple((w, sum(s.time_days >= w * 7 for s in self.subjects)) for w in weeks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (floats for plotting)."""
        return {
            "steps": [
                {
                    "time_weeks": round(float(s.time_weeks), 3),
                    "survival": float(s.survival),
                    "at_risk": s.at_risk,
                    "events": s.events,
                    "censored": s.censored,
                }
                for s in self.steps
            ],
            "at_risk_table": [list(row) for row in self.at_risk_table()],
        }


def relapse_free_curve(
    timelines: Iterable[PatientRecord],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    today: dt.date | None = None,
    drug: str = "lenalidomide",
    *,
    rules: tuple[PatientRules, ...] | None = None,
) -> KaplanMeier:
    """Kaplan-Meier of time from withdrawal in CR to relapse.

    Subjects: courses withdrawn in complete response (`outcome_after_withdrawal_in_cr`).
    Event: the relapse_after_complete_response flag of that withdrawal, or a
    restart of a watched drug inside the watch (rule 4: an event on the
    restart date). Censoring: the last visit inside the watch window, i.e. the
    earliest of the window's end (44 weeks / next course start) and the last
    follow-up visit; a course never seen again is censored at 0. Time is in
    days (events are >= 1 day after withdrawal); `time_weeks` is days / 7. At
    tied times events precede censorings.
    """
    if rules is None:
        rules = run_rules(timelines, thresholds, today, drug)
    subjects: list[KMSubject] = []
    for r in rules:
        timeline = r.record
        for course in timeline.courses_of(drug):
            outcome = outcome_after_withdrawal_in_cr(timeline, course, r.thresholds, list(r.flags))
            if outcome is None:
                continue
            subjects.append(
                KMSubject(
                    patient=timeline.code,
                    course_id=course.id,
                    withdrawal=outcome.withdrawal,
                    time_days=outcome.follow_up_days,
                    relapsed=outcome.relapsed,
                )
            )
    return KaplanMeier(subjects=tuple(subjects), steps=_km_steps(subjects))


def _km_steps(subjects: list[KMSubject]) -> tuple[KMStep, ...]:
    if not subjects:
        return ()
    survival = Fraction(1)
    steps = []
    for time in sorted({0} | {s.time_days for s in subjects}):
        at_risk = sum(s.time_days >= time for s in subjects)
        relapsed = sum(s.relapsed and s.time_days == time for s in subjects)
        censored = sum(not s.relapsed and s.time_days == time for s in subjects)
        if at_risk:
            survival *= 1 - Fraction(relapsed, at_risk)
        steps.append(KMStep(time, at_risk, relapsed, censored, survival))
    return tuple(steps)


# ---------------------------------------------------------------- activity over time


@dataclass(frozen=True, slots=True)
class WeekActivity:
    """Mean CLASI-A of the courses seen in the `bin_weeks` weeks up to `week` (0: baseline)."""

    week: int
    mean_activity: Fraction
    n: int  # courses contributing

    @property
    def mean_activity_1dp(self) -> float:
        return float(round_half_up(self.mean_activity, 1))


def mean_activity_by_week(
    timelines: Iterable[PatientRecord],
    today: dt.date | None = None,
    bin_weeks: int = 4,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    drug: str = "lenalidomide",
) -> list[WeekActivity]:
    """Mean CLASI-A by week since course start, over all courses.

    Week 0 holds the course baselines. An on-treatment CLASI d days after the
    start falls in the bin ending at week ceil(d / (7 * bin_weeks)) * bin_weeks,
    so with 4-week bins "week 4" is days 1-28. Each course contributes at most
    one value per bin, its LAST CLASI there, so a patient seen weekly does not
    outweigh one seen monthly.
    """
    if isinstance(bin_weeks, bool) or not isinstance(bin_weeks, int) or bin_weeks < 1:
        raise ValueError(f"bin_weeks must be an integer >= 1, got {bin_weeks!r}")
    by_week: dict[int, list[int]] = {}
    for timeline in (t.as_of(today) for t in timelines):
        for course in timeline.courses_of(drug):
            per_bin: dict[int, int] = {}
            baseline = course_baseline(
                course, timeline.assessments, thresholds, baseline_bound(timeline, course)
            )
            if baseline is not None:
                per_bin[0] = baseline.activity
            for a in on_treatment(course, timeline.assessments, today):
                days = (a.date - course.start).days
                per_bin[-(-days // (7 * bin_weeks)) * bin_weeks] = a.activity  # last one wins
            for week, activity in per_bin.items():
                by_week.setdefault(week, []).append(activity)
    return [
        WeekActivity(week, Fraction(sum(values), len(values)), len(values))
        for week, values in sorted(by_week.items())
    ]
