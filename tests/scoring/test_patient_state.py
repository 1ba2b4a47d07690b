"""The derived state kept per patient (issue 13, scoring.state) and the one worklist (clasi.md 5.6).

- After any sequence of writes through the services (visits with labs, courses,
  dose steps, holds, withdrawals, acknowledgements, deleted visits, patient
  edits), the stored row equals a fresh computation over the record (hypothesis).
- Until `valid_until` the calendar alone cannot change it: recomputed for every
  day before that day, the answer is the same (the same hypothesis runs).
- The needs-attention page reads it in a fixed number of queries (3 vs 30
  patients, fresh or stale), paginated, filtered by kind, in worklist order.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra.django import TestCase

from clinic.models import Clinic, Membership
from patients import services
from patients.concurrency import RecordGone
from patients.models import Course, Patient, Visit
from patients.services import LabInput
from patients.snapshot import record_for
from scoring import selectors
from scoring.models import FlagAcknowledgement, PatientState
from scoring.services import acknowledge_flag
from scoring.state import STATE_FIELDS, refresh_states, state_values
from tests.audit_queries import audit_entry_queries
from tests.scoring.trend_factories import exam_with

ATTENTION = reverse("scoring:attention")
# Compared with a fresh computation; computed_on / valid_until say when, not what.
WHAT = [f for f in STATE_FIELDS if f not in ("computed_on", "valid_until")]


def stored(patient) -> dict:
    row = PatientState.objects.get(patient=patient)
    return {f: getattr(row, f) for f in STATE_FIELDS}


def fresh(patient, today: dt.date | None = None) -> dict:
    """The state computed now from the stored rows (the patient re-read: edits change it)."""
    patient = Patient.objects.get(pk=patient.pk)
    acked = FlagAcknowledgement.objects.filter(patient=patient).values_list("flag_key", flat=True)
    return state_values(record_for(patient, full=False), list(acked), today or timezone.localdate())


def anc(value: str, unit: str = "x10^9/L") -> LabInput:
    return LabInput(test="anc", value=Decimal(value), unit=unit)


def pregnancy(result: str) -> LabInput:
    return LabInput(test="pregnancy", result=result)


# -- the property: stored == fresh after random writes, and stable until valid_until ----------

DAY = st.integers(min_value=0, max_value=400)  # days before today
op = st.one_of(
    st.tuples(
        st.just("visit"),
        DAY,
        st.none() | st.integers(0, 30),  # CLASI-A
        st.none() | st.sampled_from(["0.4", "0.8", "1.2", "2.5"]),  # ANC x10^9/L
        st.none() | st.sampled_from(["negative", "positive"]),
    ),
    st.tuples(st.just("course"), DAY, st.sampled_from(["5", "10", "25"])),
    st.tuples(st.just("dose"), DAY, st.sampled_from(["5", "10"])),
    st.tuples(st.just("withdraw"), DAY),
    st.tuples(st.just("hold"), DAY, st.integers(1, 30)),
    st.tuples(st.just("ack"), st.integers(0, 3)),
    st.tuples(st.just("delete_visit"), st.integers(0, 5)),
    st.tuples(st.just("patient"), st.sampled_from(["F", "M", "X"]), st.booleans(), st.integers(1950, 2004)),
)


class StoredStateProperty(TestCase):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ops=st.lists(op, min_size=1, max_size=12))
    def test_stored_state_is_a_fresh_computation_after_any_writes(self, ops):
        clinic = Clinic.objects.create(name="Property clinic")
        user = _user("prop.clinician", clinic)
        patient = services.create_patient(clinic, code="PROP-1", sex="F", reproductive_potential=True,
                                          birth_date=dt.date(1980, 2, 29))
        today = timezone.localdate()
        for step in ops:
            try:
                apply(step, patient, user, today)
            except (ValidationError, RecordGone):
                pass  # refused writes write nothing: the state must still match
            self.assertEqual({f: stored(patient)[f] for f in WHAT}, {f: fresh(patient)[f] for f in WHAT})
        state = stored(patient)
        assert state == fresh(patient)  # valid_until and computed_on too

        # Time: recomputed for every day of the record's span (and 60 days on), the
        # answer never changes before the valid_until it was stored with (pure).
        record = record_for(Patient.objects.get(pk=patient.pk), full=False)
        acked = list(FlagAcknowledgement.objects.filter(patient=patient).values_list("flag_key", flat=True))
        days = [today + dt.timedelta(days=n) for n in range(-405, 61)]
        states = [state_values(record, acked, day) for day in days]
        what = [{f: s[f] for f in WHAT} for s in states]
        for i, day in enumerate(days):
            until = states[i]["valid_until"]
            for j in range(i + 1, len(days)):
                if until is not None and days[j] >= until:
                    break
                assert what[j] == what[i], f"as of {day}: changed on {days[j]}, valid until {until}"


def _user(name: str, clinic):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=name, password="x" * 20)
    Membership.objects.create(user=user, clinic=clinic, role="clinician")
    return user


def apply(step, patient, user, today: dt.date) -> None:
    kind, *args = step
    course = Course.objects.filter(patient=patient).order_by("-start").first()
    if kind == "visit":
        back, activity, neutrophils, test = args
        labs = ([anc(neutrophils)] if neutrophils else []) + ([pregnancy(test)] if test else [])
        services.record_visit(patient, date=today - dt.timedelta(days=back),
                              exam=exam_with(activity) if activity is not None else None, labs=labs)
    elif kind == "course":
        services.start_course(patient, start=today - dt.timedelta(days=args[0]), mg=Decimal(args[1]))
    elif kind == "dose" and course is not None:
        services.add_dose_step(course, date=today - dt.timedelta(days=args[0]), mg=Decimal(args[1]))
    elif kind == "withdraw" and course is not None and course.end is None:
        services.withdraw(course, end=today - dt.timedelta(days=args[0]), stop_reason="remission")
    elif kind == "hold" and course is not None:
        start = today - dt.timedelta(days=args[0])
        services.add_interruption(course, start=start, end=min(today, start + dt.timedelta(days=args[1])))
    elif kind == "ack":
        items = PatientState.objects.get(patient=patient).items
        if items:
            acknowledge_flag(patient, items[args[0] % len(items)]["key"], "Seen in clinic.", user)
    elif kind == "delete_visit":
        visits = list(Visit.objects.filter(patient=patient).order_by("date"))
        if visits:
            services.delete_visit(visits[args[0] % len(visits)])
    elif kind == "patient":
        sex, potential, year = args
        services.update_patient(patient, sex=sex, reproductive_potential=potential,
                                birth_date=dt.date(year, 6, 15))


# -- writes outside the services -------------------------------------------------------------


@pytest.mark.django_db
def test_the_import_writes_the_state_and_erasure_removes_it(clinic_a):
    from patients.exchange import import_document

    today = timezone.localdate()
    doc = {
        "format": "cle-tracker/2",
        "clinic": clinic_a.name,
        "patients": [{
            "code": "IMP-1", "sex": "F",
            "courses": [{"drug": "lenalidomide", "start": (today - dt.timedelta(days=60)).isoformat(),
                         "doses": [{"date": (today - dt.timedelta(days=60)).isoformat(), "mg": 10, "every_days": 1}]}],
            "visits": [{"date": (today - dt.timedelta(days=3)).isoformat(),
                        "labs": [{"test": "anc", "value": 800, "unit": "cells/uL"}]}],
        }],
    }
    import_document(doc, clinic=clinic_a)
    patient = Patient.objects.get(code="IMP-1")
    state = stored(patient)
    assert state == fresh(patient)
    assert [i["kind"] for i in state["items"]] == ["cytopenia"]
    assert state["treatments"] == [{"text": "Lenalidomide 10 mg daily", "watched": True, "on_hold": False}]
    services.erase_patient(patient, typed_code="IMP-1")
    assert not PatientState.objects.exists()


@pytest.mark.django_db
def test_rebuild_command_fills_missing_and_stale_rows(clinic_a, capsys):
    patients = Patient.objects.bulk_create(Patient(clinic=clinic_a, code=f"RB-{i}", sex="F") for i in range(3))
    assert not PatientState.objects.exists()
    call_command("rebuild_patient_state", "--stale")
    assert PatientState.objects.count() == 3
    assert "3 patient states recomputed" in capsys.readouterr().out
    call_command("rebuild_patient_state", "--stale")
    assert "0 patient states recomputed" in capsys.readouterr().out
    PatientState.objects.filter(patient=patients[0]).update(valid_until=timezone.localdate())
    call_command("rebuild_patient_state", "--stale")
    assert "1 patient state recomputed" in capsys.readouterr().out
    # A row computed by other rules (a deploy changed clinical/ or a threshold) is stale too.
    PatientState.objects.filter(patient=patients[1]).update(rules="older rules")
    call_command("rebuild_patient_state", "--stale")
    assert "1 patient state recomputed" in capsys.readouterr().out
    call_command("rebuild_patient_state")
    assert "3 patient states recomputed" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_stale_row_is_refreshed_by_the_page_that_reads_it(client_a, clinic_a, monkeypatch):
    """Computed as of an earlier day, before the low count's date: the page, read on
    that date, finds the row stale (valid_until reached) and shows the item."""
    patient = services.create_patient(clinic_a, code="CAL-1", sex="F")
    _on_lenalidomide(patient)
    today = timezone.localdate()
    services.record_visit(patient, date=today - dt.timedelta(days=2), labs=[anc("0.5")])
    refresh_states([patient.pk], today=today - dt.timedelta(days=10))
    row = PatientState.objects.get(patient=patient)
    # Stale by the low count's date at the latest (a blood count due earlier counts too).
    assert row.items == [] and row.valid_until <= today - dt.timedelta(days=2)
    html = client_a.get(ATTENTION).content.decode()
    assert "CAL-1" in html and "Grade 3 neutropenia" in html
    assert stored(patient) == fresh(patient)


@pytest.mark.django_db
@pytest.mark.parametrize("spoil", ["missing", "valid_until", "computed_on", "rules"])
def test_any_stale_row_of_a_clinic_is_found_by_the_clinic_probe(client_a, clinic_a, clinic_b, spoil):
    """The clinic-wide pages check staleness by index probes per clinic
    (scoring.state.probe_clinics), not row by row: each way a row can be stale
    must still be found, and only in its own clinic."""
    from scoring.state import probe_clinics

    def stale_clinics(clinics, today):
        return [pk for pk, is_stale in probe_clinics(clinics, today) if is_stale]

    _flagged(clinic_a, 3, "ST-")
    _flagged(clinic_b, 2, "OTHER-")
    target = Patient.objects.get(code="ST-001")
    today = timezone.localdate()
    clinics = Clinic.objects.all()
    assert stale_clinics(clinics, today) == []
    assert PatientState.objects.get(patient=target).clinic_id == clinic_a.pk
    row = PatientState.objects.filter(patient=target)
    hidden = {"items": [], "open_items": 0}  # the page shows the patient again only if refreshed
    if spoil == "missing":
        row.delete()
    elif spoil == "valid_until":
        row.update(valid_until=today, **hidden)
    elif spoil == "computed_on":
        row.update(computed_on=today + dt.timedelta(days=1), **hidden)
    else:
        row.update(rules="0" * 16, **hidden)
    assert stale_clinics(clinics, today) == [clinic_a.pk]
    assert "ST-001" in client_a.get(ATTENTION).content.decode()
    assert stored(target) == fresh(target)
    assert stale_clinics(clinics, today) == []


# -- the page ---------------------------------------------------------------------------------


def _on_lenalidomide(patient, days_ago: int = 60) -> None:
    """A running course: a grade 3-4 count is urgent only during a course or within 4
    weeks after it (clasi.md 5.2)."""
    services.start_course(
        patient, start=timezone.localdate() - dt.timedelta(days=days_ago), mg=Decimal("10")
    )


def _flagged(clinic, n: int, prefix: str) -> None:
    today = timezone.localdate()
    for i in range(n):
        p = services.create_patient(clinic, code=f"{prefix}{i:03d}", sex="F")
        _on_lenalidomide(p)
        services.record_visit(p, date=today - dt.timedelta(days=1 + i % 20), labs=[anc("0.6")])


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# session, user; the stored state: any stale row, the count, the page; the audit entry.
ATTENTION_QUERIES = 5


@pytest.mark.django_db
def test_the_attention_page_runs_fixed_queries_for_3_or_30_patients(client_a, clinic_a):
    _flagged(clinic_a, 3, "Q3-")
    client_a.get(ATTENTION)  # warms the content-type cache the audit entry uses
    small = _count(client_a, ATTENTION)
    _flagged(clinic_a, 27, "Q30-")
    large = _count(client_a, ATTENTION)
    assert small == large == ATTENTION_QUERIES + audit_entry_queries()
    # Every row stale (a new day): refreshed in bulk, still a fixed count.
    PatientState.objects.update(valid_until=timezone.localdate())
    stale_large = _count(client_a, ATTENTION)
    Patient.objects.filter(code__startswith="Q30-").delete()
    PatientState.objects.update(valid_until=timezone.localdate())
    stale_small = _count(client_a, ATTENTION)
    assert stale_small == stale_large > large
    # The filtered patient list reads the same rows.
    listing = reverse("patients:list") + "?open_flag=on"
    client_a.get(listing)
    few = _count(client_a, listing)
    _flagged(clinic_a, 27, "Q31-")
    assert _count(client_a, listing) == few


@pytest.mark.django_db
def test_the_worklist_order_the_red_row_and_the_kind_filter(client_a, clinic_a, clinician_a):
    today = timezone.localdate()
    low = services.create_patient(clinic_a, code="W-ANC", sex="F")
    _on_lenalidomide(low)
    services.record_visit(low, date=today - dt.timedelta(days=1), labs=[anc("800", "cells/uL")])
    positive = services.create_patient(clinic_a, code="W-PREG", sex="F", reproductive_potential=True)
    # On treatment with its tests kept (EU: a negative one the day before the start), a
    # positive test is the most urgent item.
    services.record_visit(positive, date=today - dt.timedelta(days=21), labs=[pregnancy("negative")])
    _on_lenalidomide(positive, days_ago=20)
    services.record_visit(positive, date=today - dt.timedelta(days=3), labs=[pregnancy("positive")])
    services.create_patient(clinic_a, code="W-NONE", sex="F")
    html = client_a.get(ATTENTION).content.decode()
    # A positive pregnancy test first although older; the patient with nothing open absent.
    assert html.index("W-PREG") < html.index("W-ANC") and "W-NONE" not in html
    assert 'class="work-item kind-pregnancy_positive"' in html  # red (charts.css)
    assert "Stop lenalidomide now" in html  # what to do
    only = client_a.get(ATTENTION, {"kind": "cytopenia"}).content.decode()
    assert "W-ANC" in only and "W-PREG" not in only
    # Acknowledged like a flag, audited, and the patient leaves the list.
    (item,) = PatientState.objects.get(patient=positive).items
    response = client_a.post(reverse("scoring:acknowledge", args=[positive.pk]),
                             {"flag_key": item["key"], "note": "Referred today.", "next": ATTENTION})
    assert response.status_code == 302 and response["Location"] == ATTENTION
    assert "W-PREG" not in client_a.get(ATTENTION).content.decode()
    ack = FlagAcknowledgement.objects.get(patient=positive)
    assert (ack.kind, ack.flag_key, ack.acknowledged_by) == ("pregnancy_positive", item["key"], clinician_a)
    # An unsafe "next" is ignored: back to the patient.
    (low_item,) = PatientState.objects.get(patient=low).items
    response = client_a.post(reverse("scoring:acknowledge", args=[low.pk]),
                             {"flag_key": low_item["key"], "note": "Seen.", "next": "https://evil.example/"})
    assert response["Location"].endswith(reverse("patients:detail", args=[low.pk]) + "#flags")


@pytest.mark.django_db
def test_the_patient_page_shows_open_safety_items_with_a_form(client_a, clinic_a):
    today = timezone.localdate()
    patient = services.create_patient(clinic_a, code="PP-1", sex="F")
    _on_lenalidomide(patient)
    services.record_visit(patient, date=today - dt.timedelta(days=1), labs=[anc("0.4")])
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    (item,) = PatientState.objects.get(patient=patient).items
    assert 'data-item-kind="cytopenia"' in html and f'value="{item["key"]}"' in html


@pytest.mark.django_db
def test_the_attention_page_is_paginated(client_a, clinic_a, monkeypatch):
    monkeypatch.setattr(selectors, "ATTENTION_PAGE_SIZE", 2)
    _flagged(clinic_a, 5, "PG-")
    first = client_a.get(ATTENTION).content.decode()
    assert "Page 1 of 3" in first and "?page=2" in first
    third = client_a.get(ATTENTION, {"page": 3}).content.decode()
    assert sum(f"PG-{i:03d}" in third for i in range(5)) == 1
    assert "5 patients" in third


@pytest.mark.django_db
def test_the_needs_attention_filter_counts_what_its_pages_list(client_a, clinic_a, clinic_b, monkeypatch):
    """With "Needs attention" alone the list counts the open stored states of the
    user's clinics (patients/views.py): the number must be the patients its pages
    list, never another clinic's."""
    import re

    monkeypatch.setattr("patients.views.PAGE_SIZE", 2)
    _flagged(clinic_a, 3, "CNT-")
    services.create_patient(clinic_a, code="CNT-QUIET", sex="F")  # nothing open
    _flagged(clinic_b, 2, "ELSEWHERE-")
    url = reverse("patients:list")
    first = client_a.get(url, {"open_flag": "on"}).content.decode()
    second = client_a.get(url, {"open_flag": "on", "page": "2"}).content.decode()
    listed = re.findall(r">(CNT-\d+|CNT-QUIET|ELSEWHERE-\d+)</a>", first + second)
    assert listed == ["CNT-000", "CNT-001", "CNT-002"]
    assert "3 patients match" in first and "Page 1 of 2" in first


@pytest.mark.django_db
def test_an_admin_deletion_recomputes_the_stored_state(clinic_a, client_a, clinician_a):
    """The Django admin writes around the services; its saves and deletions refresh
    the patient's state too (scoring.admin.RefreshesPatientState), so the worklist
    never keeps an item the admin removed, nor misses one it brought back."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from patients.models import LabResult

    patient = services.create_patient(clinic_a, code="ADM-1", sex="F")
    _on_lenalidomide(patient)
    services.record_visit(patient, date=timezone.localdate() - dt.timedelta(days=2), labs=[anc("0.5")])
    [item] = stored(patient)["items"]
    acknowledge_flag(patient, item["key"], "Seen in clinic.", clinician_a)
    assert stored(patient)["items"] == []

    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", password="x" * 20))
    # Deleting the acknowledgement in the admin reopens the item...
    ack = FlagAcknowledgement.objects.get(patient=patient)
    response = staff.post(reverse("admin:scoring_flagacknowledgement_delete", args=[ack.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert [i["kind"] for i in stored(patient)["items"]] == ["cytopenia"] and stored(patient) == fresh(patient)
    assert "ADM-1" in client_a.get(ATTENTION).content.decode()
    # ...and deleting the low count (the list's bulk action) closes it.
    lab = LabResult.objects.get(visit__patient=patient)
    response = staff.post(reverse("admin:patients_labresult_changelist"),
                          {"action": "delete_selected", "_selected_action": [lab.pk], "post": "yes"})
    assert response.status_code == 302 and not LabResult.objects.exists()
    assert stored(patient)["items"] == [] and stored(patient) == fresh(patient)
    assert "ADM-1" not in client_a.get(ATTENTION).content.decode()
