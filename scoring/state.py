"""Each patient's derived state, kept instead of recomputed (issue 13; clasi.md 5.6).

What the list pages need about a patient (the open worklist items, the latest
CLASI-A, the treatments in force) is computed HERE, by the same pure rules the
patient page runs (clinical.rules.flares.find_flags, worklist.safety_items,
worklist.worklist, PatientRecord.treatments_on), and stored in
scoring.models.PatientState, one row per patient.

When it is recomputed:

- by every write that can change it, inside the write's own transaction:
  patients.concurrency.writes_patient (the services' decorator) collects the
  patients whose row a service locked and calls `refresh_states` before the
  transaction commits; the importer calls it once for the whole document;
  the acknowledgement service likewise. A reader therefore never sees a
  record and a state from different moments.
- by the calendar: "overdue", a future-dated entry, a birthday (age enters
  the creatinine clearance) change the answer without a write. `valid_until`
  stores the first day the answer could differ without a write (see
  `next_change`); a row with valid_until <= today is stale. Reads of the list
  pages refresh the stale (or missing) rows of the user's patients first, in
  bulk and in a fixed number of queries (`refresh_stale`); the
  `rebuild_patient_state --stale` command, run daily (cron, shortly after
  midnight), does the same for every clinic so that pages rarely find any.

The state is a cache of rules over audited rows, not patient data of its own:
it is not audited itself (every write that changes it is).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone

from clinical.record import PatientRecord, Treatment
from clinical.rules.safety import safety_monitoring
from clinical.rules.worklist import WorkItem, flag_item, safety_items, worklist

# Patients per records_for call when many rows are refreshed (the importer, the
# command): memory stays bounded, queries grow per chunk, not per patient.
CHUNK = 500
# Days after a course's end while the rules still look at it (the pregnancy test
# 4 weeks after stopping, flags in the weeks after a withdrawal are dated by
# visits, which are entries of their own).
AFTER_END_DAYS = (28,)


# -- the pure part -----------------------------------------------------------------


@functools.cache
def rules_version() -> str:
    """A fingerprint of the rules and their settings: a row computed by other rules
    (a deploy changed clinical/ or a threshold) is stale whatever its valid_until."""
    import clinical

    digest = hashlib.sha256()
    sources = sorted(Path(clinical.__file__).parent.rglob("*.py")) + [Path(__file__)]
    for path in sources:
        digest.update(path.read_bytes())
    digest.update(repr(sorted(settings.CLE_FLARE_THRESHOLDS.items())).encode())
    digest.update(repr(sorted(safety_settings().items())).encode())
    return digest.hexdigest()[:16]



def safety_settings() -> dict[str, Any]:
    """The site's pregnancy programme and creatinine-clearance limit, as safety_items
    takes them: one definition (scoring.safety.safety_options)."""
    from scoring.safety import safety_options

    return safety_options()


def all_items(record: PatientRecord, today: dt.date) -> list[WorkItem]:
    """Every worklist candidate of a record today: the safety items and the flags.

    The one list both the acknowledgement (which keys exist) and the stored
    state (which are open) are made from.
    """
    from scoring.selectors import current_flags  # selectors import this module's model

    items = list(safety_items(record, today, **safety_settings()))
    items += [flag_item(f) for f in current_flags(record, today)]
    return items


def open_items(record: PatientRecord, acknowledged: Iterable[str], today: dt.date) -> list[WorkItem]:
    """The worklist of one patient: urgent, unacknowledged, most urgent first (clasi.md 5.6)."""
    return worklist(all_items(record, today), acknowledged)


def _birthday_after(birth: dt.date, today: dt.date) -> dt.date:
    for year in (today.year, today.year + 1):
        try:
            day = birth.replace(year=year)
        except ValueError:  # 29 February in a common year: the age turns on 1 March
            day = dt.date(year, 3, 1)
        if day > today:
            return day
    return dt.date(today.year + 1, 3, 1)  # unreachable: next year's birthday is after today


def next_change(record: PatientRecord, today: dt.date) -> dt.date | None:
    """The first day after `today` on which the state could differ with no write; None: never.

    Candidates, each with the day after it: every dated entry (a future
    visit, lab, course start or end, dose step, hold start or end: `as_of`
    counts each from its day; an end day is still in force), each monitoring
    due date (due today is not overdue; the day after it is), 4 weeks after a
    course's end (the post-treatment test), and the next birthday (age enters
    the creatinine clearance). A later candidate cannot matter before an earlier one, so the
    earliest is enough; the property test in tests/scoring/test_patient_state.py
    checks that nothing changes before it.
    """
    days: list[dt.date] = []
    for course in record.courses:
        days.append(course.start)
        if course.end is not None:
            days.append(course.end)
            days += [course.end + dt.timedelta(days=n) for n in AFTER_END_DAYS]
        days += [d.date for d in course.doses]
        for hold in course.interruptions:
            days.append(hold.start)
            if hold.end is not None:
                days.append(hold.end)
    days += [a.date for a in record.assessments]
    days += [lab.date for lab in record.labs]
    days += [v.date for v in record.visits]
    if record.sle_diagnosed is not None:
        days.append(record.sle_diagnosed)
    monitoring = safety_monitoring(record, today, record.reproductive_potential)
    for part in (monitoring.pregnancy, monitoring.blood_counts):
        if part is not None and part.next_due is not None:
            days.append(part.next_due)
    if record.birth_date is not None:
        days.append(_birthday_after(record.birth_date, today))
    # Each entry's day and the day after it: "in force" counts an end day itself
    # (Course.in_force), so what stops on day d changes the answer on d + 1.
    later = [d for day in days for d in (day, day + dt.timedelta(days=1)) if d > today]
    return min(later) if later else None


def item_row(item: WorkItem) -> dict[str, Any]:
    """A WorkItem as stored (JSON): every field a page shows, dates as ISO text."""
    return {
        "kind": item.kind,
        "key": item.key,
        "date": item.date.isoformat(),
        "title": item.title,
        "action": item.action,
        "detail": item.detail,
        "visit_id": item.visit_id,
        "flag_kind": item.flag_kind,
        "urgency": item.urgency,
    }


def treatment_row(treatment: Treatment) -> dict[str, Any]:
    """A Treatment as stored: the list page's words and marks."""
    return {"text": treatment.text, "watched": treatment.course.watched, "on_hold": treatment.on_hold}


def state_values(record: PatientRecord, acknowledged: Iterable[str], today: dt.date) -> dict[str, Any]:
    """The stored fields of one patient's state as of `today` (pure: no query)."""
    items = open_items(record, acknowledged, today)
    now = record.as_of(today)
    latest = now.assessments[-1] if now.assessments else None
    treatments = now.treatments_on(today)
    return {
        "items": [item_row(i) for i in items],
        "open_items": len(items),
        "top_urgency": items[0].urgency if items else None,
        "top_date": items[0].date if items else None,
        # Space-delimited so "has an item of kind K" is a portable LIKE '% K %'.
        "kinds": " " + " ".join(sorted({i.kind for i in items})) + " " if items else "",
        "latest_activity": latest.activity if latest else None,
        "latest_activity_date": latest.date if latest else None,
        # What the patient list shows per treatment: its words, whether it is a
        # watched drug (highlighted) and on hold (muted). No record read per row.
        "treatments": [treatment_row(t) for t in treatments],
        "computed_on": today,
        "valid_until": next_change(record, today),
        "rules": rules_version(),
    }


# -- the stored part -----------------------------------------------------------------


def _today() -> dt.date:
    return timezone.localdate()


def refresh_states(patient_ids: Iterable, today: dt.date | None = None) -> int:
    """Recompute and store the state of these patients (inside the caller's transaction).

    A fixed number of queries per CHUNK patients: records_for (one per table),
    the acknowledgements, the existing rows, one bulk insert and one bulk
    update. Ids of patients that no longer exist are ignored (their row went
    with them: on_delete=CASCADE). Returns the number of rows written.
    """
    from patients.models import Patient
    from patients.snapshot import records_for
    from scoring.models import FlagAcknowledgement, PatientState

    ids = list(dict.fromkeys(patient_ids))
    today = today or _today()
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        records = records_for(Patient.objects.filter(pk__in=chunk), full=False)
        if not records:
            continue
        acked: dict = {}
        for pid, key in FlagAcknowledgement.objects.filter(patient_id__in=chunk).values_list(
            "patient_id", "flag_key"
        ):
            acked.setdefault(pid, set()).add(key)
        if len(records) == 1:  # one write's patient: an UPDATE, an INSERT only the first time
            ((pid, record),) = records.items()
            values = state_values(record, acked.get(pid, ()), today)
            # The clinic is copied from the patient row within the same statement.
            clinic = Subquery(Patient.objects.filter(pk=pid).values("clinic_id")[:1])
            if not PatientState.objects.filter(patient_id=pid).update(clinic_id=clinic, **values):
                clinic_id = Patient.objects.filter(pk=pid).values_list("clinic_id", flat=True).get()
                PatientState.objects.create(patient_id=pid, clinic_id=clinic_id, **values)
            written += 1
            continue
        have = set(PatientState.objects.filter(patient_id__in=chunk).values_list("patient_id", flat=True))
        clinics = dict(Patient.objects.filter(pk__in=chunk).values_list("pk", "clinic_id"))
        new, changed = [], []
        for pid, record in records.items():
            row = PatientState(patient_id=pid, clinic_id=clinics[pid],
                               **state_values(record, acked.get(pid, ()), today))
            (changed if pid in have else new).append(row)
        if new:
            PatientState.objects.bulk_create(new)
        if changed:
            PatientState.objects.bulk_update(changed, ["clinic", *STATE_FIELDS])
        written += len(new) + len(changed)
    return written


STATE_FIELDS = [
    "items",
    "open_items",
    "top_urgency",
    "top_date",
    "kinds",
    "latest_activity",
    "latest_activity_date",
    "treatments",
    "computed_on",
    "valid_until",
    "rules",
]


def stale(patients: QuerySet, today: dt.date) -> QuerySet:
    """Those of `patients` whose state is missing, may have changed with the calendar,
    or was computed by other rules (scoring.state.rules_version).

    The same four conditions, per clinic and over aggregates, are probe_clinics'
    answer: a change to one is a change to both (tests/scoring/test_patient_state.py
    spoils a row each way and expects both to find it)."""
    return patients.filter(
        Q(state__isnull=True)
        | Q(state__valid_until__lte=today)
        | Q(state__computed_on__gt=today)
        | ~Q(state__rules=rules_version())
    )


def probe_clinics(clinics: QuerySet, today: dt.date) -> list[tuple[Any, bool]]:
    """(clinic id, has a stale or missing state row) for each of `clinics`, in one query.

    Per clinic, index probes of PatientState (scoring.models: indexes that start
    with the clinic): the earliest valid_until, the latest computed_on, the lowest
    and highest rules fingerprint; and the numbers of patients and of state rows
    (index-only counts). Nothing of the clinic is stale when the earliest
    valid_until is after today, nothing was computed after today, every row has
    the current rules and every patient has a row: the usual answer, read
    without visiting the clinic's rows one by one.

    Written as SQL over the clinics' ids (the caller's access-scoped queryset):
    it runs on every clinic-wide page, and the ORM took 3.5 ms of CPU to compile
    its six subqueries, more than the database took to answer them.
    """
    from patients.models import Patient
    from scoring.models import PatientState

    ids_sql, ids_params = clinics.order_by().values("pk").query.sql_with_params()
    state, patient = PatientState._meta.db_table, Patient._meta.db_table

    def first(column: str, descending: bool = False) -> str:
        return (f"(SELECT s.{column} FROM {state} s WHERE s.clinic_id = c.id AND s.{column} IS NOT NULL"
                f" ORDER BY s.{column}{' DESC' if descending else ''} LIMIT 1)")

    sql = (
        f"SELECT c.id, (SELECT COUNT(*) FROM {patient} p WHERE p.clinic_id = c.id),"
        f" (SELECT COUNT(*) FROM {state} s WHERE s.clinic_id = c.id),"
        f" {first('valid_until')}, {first('computed_on', True)}, {first('rules')}, {first('rules', True)}"
        f" FROM (SELECT DISTINCT x.pk AS id FROM ({ids_sql}) x) c"
    )
    version = rules_version()
    found: list[tuple[Any, bool]] = []
    with connection.cursor() as cursor:
        cursor.execute(sql, ids_params)
        for pk, patients, states, due, computed, low, high in cursor.fetchall():
            due, computed = _as_date(due), _as_date(computed)
            # stale()'s four conditions, read from the clinic's aggregates: a missing row,
            # valid_until reached, computed after today, other rules.
            is_stale = patients != states or (due is not None and due <= today) or (
                computed is not None and computed > today
            ) or bool(states and (low != version or high != version))
            found.append((_as_pk(pk), is_stale))
    return found


def _as_date(value: Any) -> dt.date | None:
    """SQLite gives dates of raw SQL as text."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _as_pk(value: Any) -> Any:
    """A clinic id as the ORM gives it (SQLite stores UUIDs as hex text)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def fresh_clinics(clinics: QuerySet, today: dt.date | None = None) -> list:
    """Bring the stored state of every patient of `clinics` up to today and return
    the clinics' ids (the clinic-wide pages filter by them as values, so that the
    planner walks one clinic's index in the page's order). One query when nothing
    is stale (probe_clinics); else the stale rows of the clinics that have some,
    refreshed as refresh_stale does."""
    from patients.models import Patient

    today = today or _today()
    probed = probe_clinics(clinics, today)
    found = [pk for pk, is_stale in probed if is_stale]
    if found:
        refresh_stale(Patient.objects.filter(clinic__in=found), today)
    return [pk for pk, _ in probed]


def refresh_stale(patients: QuerySet, today: dt.date | None = None) -> int:
    """Bring the stored state of `patients` up to today before a page reads it.

    One query when nothing is stale (the usual case: rows change with writes
    and the daily command); otherwise the stale rows are refreshed in bulk in
    their own transaction (fixed queries per CHUNK rows).
    """
    from django.db import transaction

    today = today or _today()
    ids = list(stale(patients, today).order_by().values_list("pk", flat=True))
    if not ids:
        return 0
    from patients.models import Patient

    with transaction.atomic():
        # Take the patients' locks (in id order, as writers take one at a time) so a
        # write committing meanwhile cannot be overwritten by this older reading.
        list(Patient.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
        return refresh_states(ids, today)
