"""Lenalidomide safety monitoring: which test is due next, and is it overdue (pure).

clasi.md section 5 lists what a clinician expects the record to carry:

- Pregnancy tests for a patient who can become pregnant (sex F, or X, with
  reproductive potential: section 5.1), by the site's programme:
  * ``eu`` (default, the EU Pregnancy Prevention Programme): a negative test
    within the 3 days before the start (the start day and the 3 days before
    it), then every 4 weeks during treatment, interruptions included, and
    one 4 weeks after stopping.
  * ``us`` (REMS): two negative tests before starting (10-14 days before and
    within 24 h before the prescription), then weekly for the first 4 weeks,
    then every 4 weeks (every 2 weeks with irregular cycles), and one 4
    weeks after stopping.
  A male patient with reproductive potential gets no pregnancy test: the
  monitoring box reminds the clinician of condom counselling instead.
- Blood counts: weekly for 8 weeks, then monthly ("a sensible default").

This module answers "when is the next one due?" from a `PatientRecord` and
a `today` the caller passes (never the clock, so a test pins any date). It
does NOT raise the abnormal-result flags: ANC < 1.0, platelets < 50 and a
positive pregnancy test are `clinical.rules.signals.safety_signals`; here a positive
test only changes the status wording. It does not replace the national
pregnancy-prevention programme's verification (section 5).

Interpretations (**project rules**, where section 5 is silent or the record
cannot see what the rule needs):

- Only courses of drugs whose registry profile asks for it are monitored
  (pregnancy prevention: lenalidomide, thalidomide; blood counts:
  lenalidomide). An interruption does not pause the schedule (section 5.1:
  "interruptions included").
- Reproductive potential and sex come from the record (the page may still pass
  the potential). A record with no sex (hand-built, never stored: the
  database requires one) is monitored like F: the safe reading.
- A course runs on `today` when it started on or before `today` and has no
  withdrawal date or a withdrawal date after `today`. From the withdrawal date
  on, it is stopped. A course starting after `today` is planned.
- Only labs dated on or before `today` count: a future-dated entry is not a
  test done (the same reading as `PatientRecord.as_of`).
- Any recorded pregnancy test counts as "a test" for the schedule (a
  positive one too: the schedule is kept, the signal is raised elsewhere).
  The pre-treatment tests must be NEGATIVE.
- EU pre-treatment test: a negative test dated from 3 days before the start
  to the start day (3 days before counts, 4 does not).
- US pre-treatment tests, as modelled for this record (which knows the course
  start, not the moment of the prescription): "10-14 days before" = a negative
  test dated 10 to 14 days before the start (14 and 10 count, 15 and 9 do not);
  "within 24 h before" = a negative test on the start day or the day before.
  They must be two different tests: one test on the day before the start
  cannot satisfy both. They are reported for a running or planned course,
  not after it stopped.
- EU on treatment: the next test is due 28 days after the last test on or
  after the course start (or after the start when there is none). A course
  started without the pre-treatment test and with no test since: a test is
  due on the start day (overdue from the next day).
- US on treatment: the schedule runs from the last test on or after the course
  start (or from the start when there is none): the next test is due 7 days
  after it while it lies in the first 4 weeks (days 0-27 of the course),
  28 days after it from day 28 on. So the week-4 test (day 28) is the first
  one followed by a 4-week interval. "Every 2 weeks with irregular cycles" is
  a clinician's judgement the record cannot see: the message says so, the
  date uses 4 weeks.
- After stopping: one test due 28 days after the withdrawal date; a test on
  or after that day completes the monitoring (nothing is due any more). An
  earlier test does not count as the 4-week test. A missing 4-week test stays
  overdue until it is recorded or the next course starts: the record keeps
  showing the gap rather than dropping it a day later.
- Blood counts: a day with an ANC or a platelet result counts as a blood
  count (a full blood count gives both; recording one means it was drawn).
  While a course runs, the next count is due 7 days after the last count on
  or after the start (or after the start itself) while that count lies in
  the first 8 weeks (days 0-55), and 28 days after it from day 56 on: the
  week-8 count (day 56) is the first one followed by a 4-week interval.
  "Monthly" is read as every 4 weeks. No running course: nothing is due
  (section 5 asks for no counts after stopping).
- Overdue means `today` is after the due date: a test due today is due, not
  overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from typing import TYPE_CHECKING

from clinical.record import Course, Lab, PatientRecord, shift

if TYPE_CHECKING:  # worklist imports this module lazily; no cycle at run time
    from clinical.rules.worklist import WorkItem

__all__ = [
    "BLOOD_COUNT_TESTS",
    "BloodCountMonitoring",
    "PROGRAMMES",
    "PregnancyMonitoring",
    "SafetyMonitoring",
    "ThrombosisRisk",
    "blood_count_monitoring",
    "can_become_pregnant",
    "condom_counselling",
    "pregnancy_monitoring",
    "safety_monitoring",
    "thrombosis_risk",
]

# clasi.md section 5, as the schedule's numbers (days).
PREGNANCY_WEEKLY_DAYS = 28  # weekly for the first 4 weeks
BLOOD_COUNT_WEEKLY_DAYS = 56  # weekly for the first 8 weeks
WEEKLY = 7
FOUR_WEEKLY = 28  # "every 4 weeks" (pregnancy), "monthly" (blood counts: project rule)
AFTER_STOP_DAYS = 28  # "4 weeks after stopping"
PRETREATMENT_EARLY_DAYS = 14  # "10-14 days before": at most 14 days before the start ...
PRETREATMENT_EARLY_LATEST_DAYS = 10  # ... and at least 10
PRETREATMENT_LATE_DAYS = 1  # "within 24 h before": the start day or the day before

EU_PRETREATMENT_DAYS = 3  # EU PPP: "within the 3 days before" the start

BLOOD_COUNT_TESTS = frozenset({"anc", "platelets"})

MISSING_EARLY = "negative test 10-14 days before the start"
MISSING_LATE = "negative test on the start day or the day before"
MISSING_EU = "negative test within the 3 days before the start"

# CLE_PREGNANCY_PROGRAMME values and the words the monitoring box says them in.
PROGRAMMES: dict[str, str] = {
    "eu": "EU Pregnancy Prevention Programme",
    "us": "US REMS programme",
}

COUNSELLING = (
    "Condom counselling: lenalidomide is present in semen; he uses condoms during "
    "treatment, interruptions and after stopping (no pregnancy test for him)."
)


def can_become_pregnant(sex: str, reproductive_potential: bool) -> bool:
    """Section 5.1: F or X with reproductive potential (an unrecorded sex: monitored)."""
    return reproductive_potential and sex != "M"


def _detail(message: str, headline: str) -> str:
    """The message after its headline (all of it when it does not start with one)."""
    return message[len(headline):] if headline and message.startswith(headline) else message


@dataclass(frozen=True, slots=True)
class PregnancyMonitoring:
    next_due: dt.date | None
    overdue: bool
    last_test: dt.date | None
    last_result: str | None  # "negative" / "positive" as recorded, lower case
    missing_pretreatment: tuple[str, ...]
    message: str
    headline: str = ""  # the start of `message` a page shows in bold ("... due 2026-12-01")
    programme: str = "eu"  # the CLE_PREGNANCY_PROGRAMME this schedule follows

    @property
    def programme_label(self) -> str:
        return PROGRAMMES[self.programme]

    @property
    def detail(self) -> str:
        return _detail(self.message, self.headline)

    @property
    def needs_attention(self) -> bool:
        """Shown in the warning style: overdue, started without its tests, or last positive."""
        return self.overdue or bool(self.missing_pretreatment) or self.last_result == "positive"


@dataclass(frozen=True, slots=True)
class BloodCountMonitoring:
    next_due: dt.date | None
    overdue: bool
    last_count: dt.date | None
    message: str
    headline: str = ""

    @property
    def detail(self) -> str:
        return _detail(self.message, self.headline)

    @property
    def needs_attention(self) -> bool:
        return self.overdue


@dataclass(frozen=True, slots=True)
class SafetyMonitoring:
    """What the patient page shows; None where nothing is monitored."""

    pregnancy: PregnancyMonitoring | None
    blood_counts: BloodCountMonitoring | None
    counselling: str | None = None  # the condom-counselling reminder (male, 5.1)


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _result(lab: Lab) -> str:
    return str(lab.value).strip().lower()


def _running(course: Course, today: dt.date) -> bool:
    # Stopped from the withdrawal date on: that day the 4-weeks-after test starts counting.
    return course.in_force(today) and not course.stopped_by(today)


def _scheduled(anchor: dt.date, start: dt.date, weekly_days: int) -> tuple[dt.date, bool]:
    """Next due date after `anchor`, and whether it is still the weekly phase."""
    weekly = (anchor - start).days < weekly_days
    return shift(anchor, WEEKLY if weekly else FOUR_WEEKLY), weekly


def _due_words(what: str, due: dt.date, overdue: bool) -> str:
    return f"{what} OVERDUE since {_iso(due)}" if overdue else f"{what} due {_iso(due)}"


def _missing_pretreatment(course: Course, tests: list[Lab], programme: str = "us") -> tuple[str, ...]:
    if programme == "eu":
        window = shift(course.start, -EU_PRETREATMENT_DAYS)
        found = any(_result(t) == "negative" and window <= t.date <= course.start for t in tests)
        return () if found else (MISSING_EU,)
    negatives = [t for t in tests if _result(t) == "negative"]
    late_window = shift(course.start, -PRETREATMENT_LATE_DAYS)
    early_window = shift(course.start, -PRETREATMENT_EARLY_DAYS)
    early_window_end = shift(course.start, -PRETREATMENT_EARLY_LATEST_DAYS)
    # The latest negative on the start day or the day before is the "24 h" test;
    # the early test must be ANOTHER negative 10 to 14 days before the start
    # (clasi.md section 5), so the two are at least 9 days apart.
    late = next((t for t in reversed(negatives) if late_window <= t.date <= course.start), None)
    early = next(
        (
            t
            for t in reversed(negatives)
            if t is not late and early_window <= t.date <= early_window_end
        ),
        None,
    )
    missing = []
    if early is None:
        missing.append(MISSING_EARLY)
    if late is None:
        missing.append(MISSING_LATE)
    return tuple(missing)


def _teratogen_courses(timeline: PatientRecord) -> tuple[Course, ...]:
    # Courses of teratogenic drugs under a pregnancy prevention programme only.
    return tuple(c for c in timeline.courses if c.profile.pregnancy_prevention)


def pregnancy_monitoring(
    timeline: PatientRecord,
    today: dt.date,
    reproductive_potential: bool | None = None,
    *,
    programme: str = "eu",
) -> PregnancyMonitoring | None:
    """The pregnancy-test status (clasi.md section 5.1); None when none is due.

    None: cannot become pregnant (male, or no reproductive potential), no
    course, or the 4-week test after the last course's withdrawal is recorded.
    `reproductive_potential` None: the record's own field.
    """
    if programme not in PROGRAMMES:
        raise ValueError(f"pregnancy programme must be one of {', '.join(PROGRAMMES)}, got {programme!r}")
    if reproductive_potential is None:
        reproductive_potential = timeline.reproductive_potential
    courses = _teratogen_courses(timeline)
    if not can_become_pregnant(timeline.sex, reproductive_potential) or not courses:
        return None
    tests = [lab for lab in timeline.labs if lab.test == "pregnancy" and lab.date <= today]
    last = tests[-1] if tests else None
    last_test = last.date if last else None
    last_result = _result(last) if last else None

    running = next((c for c in courses if _running(c, today)), None)
    planned = next((c for c in courses if c.start > today), None)
    started = [c for c in courses if c.start <= today]

    missing: tuple[str, ...] = ()
    eu = programme == "eu"
    if running is not None:
        course = running
        missing = _missing_pretreatment(course, tests, programme)
        on_treatment = [t for t in tests if t.date >= course.start]
        anchor = on_treatment[-1].date if on_treatment else course.start
        if eu and missing and not on_treatment:
            # Started without the test of the 3 days before: it is due from the start.
            due, weekly = course.start, False
        elif eu:
            # EU PPP: every 4 weeks from the start, interruptions included.
            due, weekly = shift(anchor, FOUR_WEEKLY), False
        else:
            due, weekly = _scheduled(anchor, course.start, PREGNANCY_WEEKLY_DAYS)
        overdue = today > due
        rhythm = (
            "every 4 weeks on treatment, interruptions included"
            if eu
            else "weekly for the first 4 weeks of treatment"
            if weekly
            # The 2-weekly rhythm for irregular cycles needs what the record cannot see.
            else "4-weekly on treatment; every 2 weeks if cycles are irregular"
        )
        headline = _due_words("Pregnancy test", due, overdue)
        text = f"{headline} ({rhythm})."
        if missing:
            text += f" Missing before the start on {_iso(course.start)}: {'; '.join(missing)}."
    elif planned is not None:
        # A course entered ahead of its start: the pre-treatment tests are what is due.
        # It cannot be overdue before it starts (the start may still move).
        course = planned
        missing = _missing_pretreatment(course, tests, programme)
        overdue = False
        if missing:
            if eu:
                opens = shift(course.start, -EU_PRETREATMENT_DAYS)
            else:
                opens = shift(
                    course.start,
                    -(PRETREATMENT_EARLY_DAYS if MISSING_EARLY in missing else PRETREATMENT_LATE_DAYS),
                )
            due = max(opens, today)
            headline = f"Pregnancy tests due before the course starting {_iso(course.start)}"
            text = f"{headline}: {'; '.join(missing)}."
        elif eu:
            due = shift(course.start, FOUR_WEEKLY)
            headline = f"Pregnancy test due {_iso(due)}"
            text = f"{headline} (pre-treatment test done; every 4 weeks on treatment)."
        else:
            due = shift(course.start, WEEKLY)
            headline = f"Pregnancy test due {_iso(due)}"
            text = f"{headline} (pre-treatment tests done; weekly for the first 4 weeks of treatment)."
    else:
        course = started[-1]  # every course has stopped: the last one's 4-week test
        assert course.end is not None  # not running and started: it was withdrawn
        due = shift(course.end, AFTER_STOP_DAYS)
        done = next((t for t in tests if t.date >= due), None)
        if done is not None:
            return None  # the monitoring of the last course is complete
        overdue = today > due
        headline = _due_words("Pregnancy test", due, overdue)
        text = f"{headline} (4 weeks after stopping on {_iso(course.end)})."
    if last_result == "positive":
        # Status only: the positive test itself is a safety signal (clinical.rules.signals).
        text += f" Last test positive ({_iso(last_test)})."
    elif last_test is not None:
        text += f" Last test {_iso(last_test)} ({last_result})."
    else:
        text += " No pregnancy test recorded."
    return PregnancyMonitoring(
        next_due=due,
        overdue=overdue,
        last_test=last_test,
        last_result=last_result,
        missing_pretreatment=missing,
        message=text,
        headline=headline,
        programme=programme,
    )


def condom_counselling(
    timeline: PatientRecord, today: dt.date, reproductive_potential: bool | None = None
) -> str | None:
    """The reminder for a male patient with reproductive potential while a teratogen
    course runs or is planned (5.1: lenalidomide is present in semen)."""
    if reproductive_potential is None:
        reproductive_potential = timeline.reproductive_potential
    if timeline.sex != "M" or not reproductive_potential:
        return None
    if not any(c.start > today or _running(c, today) for c in _teratogen_courses(timeline)):
        return None
    return COUNSELLING


def blood_count_monitoring(
    timeline: PatientRecord, today: dt.date
) -> BloodCountMonitoring | None:
    """The blood-count status while a course runs (clasi.md section 5); None otherwise."""
    course = next(
        (c for c in timeline.courses if c.profile.blood_count_monitoring and _running(c, today)),
        None,
    )
    if course is None:
        return None
    days = sorted(
        {lab.date for lab in timeline.labs if lab.test in BLOOD_COUNT_TESTS and lab.date <= today}
    )
    last_count = days[-1] if days else None
    on_treatment = [d for d in days if d >= course.start]
    anchor = on_treatment[-1] if on_treatment else course.start
    due, weekly = _scheduled(anchor, course.start, BLOOD_COUNT_WEEKLY_DAYS)
    overdue = today > due
    rhythm = "weekly for the first 8 weeks of treatment" if weekly else "4-weekly on treatment"
    headline = _due_words("Blood count (ANC, platelets)", due, overdue)
    text = f"{headline} ({rhythm})."
    text += f" Last count {_iso(last_count)}." if last_count else " No blood count recorded."
    return BloodCountMonitoring(next_due=due, overdue=overdue, last_count=last_count, message=text, headline=headline)


def safety_monitoring(
    timeline: PatientRecord,
    today: dt.date,
    reproductive_potential: bool | None = None,
    *,
    programme: str = "eu",
) -> SafetyMonitoring:
    return SafetyMonitoring(
        pregnancy=pregnancy_monitoring(timeline, today, reproductive_potential, programme=programme),
        blood_counts=blood_count_monitoring(timeline, today),
        counselling=condom_counselling(timeline, today, reproductive_potential),
    )


# -- thrombosis (clasi.md 5.4) ------------------------------------------------------------

# Drugs whose running course, with a risk factor and no prophylaxis, is a signal (5.4:
# lenalidomide's boxed warning). Prophylaxis drugs are marked in their registry profile.
THROMBOGENIC_DRUGS = ("lenalidomide",)


@dataclass(frozen=True, slots=True)
class ThrombosisRisk:
    """A running lenalidomide course, the patient's risk factors, and no prophylaxis."""

    course: Course
    risk_factors: tuple[str, ...]

    @property
    def message(self) -> str:
        return (
            f"{self.course.label} running since {_iso(self.course.start)} with "
            f"{', '.join(self.risk_factors)} and no aspirin or heparin course: "
            "consider thromboprophylaxis"
        )


def thrombosis_risk_factors(timeline: PatientRecord) -> tuple[str, ...]:
    """The history's risk factors in words (an unknown answer is not a risk factor)."""
    history = timeline.history
    found = []
    if history.vte:
        found.append("a history of VTE")
    if history.antiphospholipid == "positive":
        found.append("antiphospholipid antibodies")
    if history.oestrogen_contraception:
        found.append("oestrogen-containing contraception")
    return tuple(found)


def thrombosis_risk(timeline: PatientRecord, today: dt.date) -> ThrombosisRisk | None:
    """The 5.4 signal: a running lenalidomide course, a risk factor, no running
    aspirin or heparin course (a held course still counts as running)."""
    course = next(
        (c for c in timeline.courses if c.drug in THROMBOGENIC_DRUGS and _running(c, today)), None
    )
    factors = thrombosis_risk_factors(timeline)
    if course is None or not factors:
        return None
    if any(c.profile.thromboprophylaxis and _running(c, today) for c in timeline.courses):
        return None
    return ThrombosisRisk(course, factors)


# -- the safety findings as worklist items (clasi.md 5.6) ----------------------------------

AFTER_COURSE_URGENT_DAYS = 28  # 5.2: grade 3-4 "during a course or within 4 weeks after it"


def _during_or_soon_after(timeline: PatientRecord, day: dt.date) -> bool:
    """A blood-count-monitored course was in force on `day`, or ended at most 4 weeks before."""
    return any(
        c.profile.blood_count_monitoring
        and c.start <= day
        and (c.end is None or day <= shift(c.end, AFTER_COURSE_URGENT_DAYS))
        for c in timeline.courses
    )


def safety_findings(
    record: PatientRecord,
    today: dt.date,
    *,
    programme: str = "eu",
    crcl_review_ml_min: int = 60,
) -> list[WorkItem]:
    """Every safety finding of the record as of `today`, as WorkItems (see worklist.safety_items)."""
    from clinical.rules.kidney import creatinine_clearance
    from clinical.rules.signals import safety_signals
    from clinical.rules.worklist import WorkItem, safety_key

    timeline = record.as_of(today)
    items: list[WorkItem] = []
    teratogen_starts = [c.start for c in _teratogen_courses(timeline)]
    for signal in safety_signals(timeline):
        if signal.kind == "pregnancy_positive":
            exposed = any(start <= signal.date for start in teratogen_starts)
            items.append(
                WorkItem(
                    kind="pregnancy_positive",
                    key=safety_key("pregnancy_positive", signal.date),
                    date=signal.date,
                    title="Positive pregnancy test" if exposed else "Positive pregnancy test before treatment",
                    action=(
                        "Stop lenalidomide now and refer (teratogen)"
                        if exposed
                        else "Do not start lenalidomide (teratogen)"
                    ),
                    detail=signal.message,
                    urgent=exposed,  # 5.1: on or after the start
                )
            )
            continue
        grade = signal.grade or 2
        on_course = _during_or_soon_after(timeline, signal.date)
        if not on_course:
            # No dose to interrupt or review: telling the clinician to reduce a drug the
            # patient is not taking misleads (the count may have another cause).
            action = "Repeat the count; no lenalidomide course on that date: look for another cause"
        elif grade >= 3:
            action = "Interrupt or reduce lenalidomide; repeat the count"
        else:
            action = "Repeat the count; review the lenalidomide dose"
        items.append(
            WorkItem(
                kind="cytopenia",
                key=safety_key(f"cytopenia_{signal.test}", signal.date),
                date=signal.date,
                title=signal.title,
                action=action,
                detail=signal.message,
                # 5.2: grade 2 is a signal; grade 3-4 during a course or within 4 weeks after.
                urgent=grade >= 3 and on_course,
            )
        )

    pregnancy = pregnancy_monitoring(timeline, today, programme=programme)
    if pregnancy is not None and pregnancy.overdue and pregnancy.next_due is not None:
        running = any(_running(c, today) for c in _teratogen_courses(timeline))
        items.append(
            WorkItem(
                kind="pregnancy_test_overdue",
                key=safety_key("pregnancy_test_overdue", pregnancy.next_due),
                date=pregnancy.next_due,
                title="Pregnancy test overdue",
                action=f"Arrange a medically supervised pregnancy test ({pregnancy.programme_label})",
                detail=pregnancy.message,
                urgent=running,  # 5.6: "overdue on a running course"; after it: the page only
            )
        )

    renal = [c for c in timeline.courses if c.profile.renal_dose_review and _running(c, today)]
    if renal:
        clearance = creatinine_clearance(timeline, today)
        if clearance.ml_min is not None and clearance.ml_min < crcl_review_ml_min:
            assert clearance.date is not None
            items.append(
                WorkItem(
                    kind="crcl_below_review",
                    key=safety_key("crcl_below_review", clearance.date),
                    date=clearance.date,
                    title=f"Creatinine clearance {clearance.ml_min} mL/min (below {crcl_review_ml_min})",
                    action=f"Review the {renal[0].label.lower()} dose for the kidney function",
                    detail=f"Cockcroft-Gault from {clearance.inputs_text}",
                )
            )

    risk = thrombosis_risk(timeline, today)
    if risk is not None:
        items.append(
            WorkItem(
                kind="thrombosis_risk",
                key=safety_key("thrombosis_risk", risk.course.start),
                date=risk.course.start,
                title="Thrombosis risk without prophylaxis",
                action="Consider aspirin or heparin (record it as a course)",
                detail=risk.message,
                urgent=False,
            )
        )
    return sorted(items, key=lambda i: (not i.urgent, i.urgency, -i.date.toordinal(), i.key))
