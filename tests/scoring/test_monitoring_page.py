"""The patient page's "Safety monitoring" box (clinical.rules.safety, clasi.md section 5)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.services import LabInput, create_patient, record_visit, start_course
from tests.audit_queries import audit_entry_queries
from tests.scoring.test_patient_analysis_page import PATIENT_PAGE_QUERIES_EXACT

pytestmark = pytest.mark.django_db


def ago(days: int) -> dt.date:
    # The page reads today's date: the record is built relative to it.
    return timezone.localdate() - dt.timedelta(days=days)


def _patient(clinic, code: str, reproductive_potential: bool):
    return create_patient(
        clinic,
        code=code,
        name="Synthetic Monitoring",
        sex="F",
        birth_date=dt.date(1988, 5, 1),
        cle_subtypes=["SCLE"],
        reproductive_potential=reproductive_potential,
    )


def _item(html: str, kind: str) -> str | None:
    found = re.search(rf'<li class="signal (\w+)" data-monitoring="{kind}">(.*?)</li>', html, re.S)
    if not found:
        return None
    # The headline is bold: check it is, then compare the text a reader sees.
    assert found.group(2).startswith("<strong>"), found.group(2)
    return f"{found.group(1)}: {re.sub(r'<[^>]+>', '', found.group(2))}"


def test_on_course_without_pregnancy_test_shows_overdue_and_missing(client_a, clinic_a, settings):
    settings.CLE_PREGNANCY_PROGRAMME = "us"
    patient = _patient(clinic_a, "SYN-MON1", reproductive_potential=True)
    start_course(patient, start=ago(10), mg=Decimal("5"))
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Safety monitoring" in html
    item = _item(html, "pregnancy")
    assert item is not None and item.startswith("safety: ")  # the warning style
    assert f"Pregnancy test OVERDUE since {ago(3).isoformat()}" in item
    assert f"Missing before the start on {ago(10).isoformat()}" in item
    assert "negative test 10-14 days before the start" in item
    assert "No pregnancy test recorded" in item
    counts = _item(html, "blood-counts")
    assert counts is not None and f"OVERDUE since {ago(3).isoformat()}" in counts


def test_tests_on_time_show_the_next_due_date_in_the_plain_style(client_a, clinic_a, settings):
    settings.CLE_PREGNANCY_PROGRAMME = "us"
    patient = _patient(clinic_a, "SYN-MON2", reproductive_potential=True)
    negative = LabInput(test="pregnancy", result="negative")
    record_visit(patient, date=ago(42), labs=[negative])
    record_visit(
        patient,
        date=ago(30),
        labs=[negative, LabInput(test="anc", value=Decimal("2.4"), unit="x10^9/L")],
    )
    start_course(patient, start=ago(30), mg=Decimal("5"))
    record_visit(patient, date=ago(2), labs=[negative])  # day 28: 4-weekly from here
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    item = _item(html, "pregnancy")
    assert item == (
        f"due: Pregnancy test due {(ago(2) + dt.timedelta(days=28)).isoformat()} "
        "(4-weekly on treatment; every 2 weeks if cycles are irregular). "
        f"Last test {ago(2).isoformat()} (negative)."
    )


def test_no_reproductive_potential_no_pregnancy_line(client_a, clinic_a):
    patient = _patient(clinic_a, "SYN-MON3", reproductive_potential=False)
    start_course(patient, start=ago(10), mg=Decimal("5"))
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Safety monitoring" in html  # the blood counts are still due
    assert _item(html, "pregnancy") is None
    assert "Pregnancy test" not in html.split('id="monitoring-h"')[1].split("</section>")[0]
    assert _item(html, "blood-counts") is not None


def test_no_course_no_box(client_a, clinic_a):
    patient = _patient(clinic_a, "SYN-MON4", reproductive_potential=True)
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Safety monitoring" not in html


def test_viewer_sees_the_box(viewer_client, clinic_a):
    patient = _patient(clinic_a, "SYN-MON5", reproductive_potential=True)
    start_course(patient, start=ago(10), mg=Decimal("5"))
    html = viewer_client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Safety monitoring" in html
    assert "Pregnancy test OVERDUE since" in (_item(html, "pregnancy") or "")


def test_the_box_costs_no_query(client_a, clinic_a, django_assert_num_queries):
    patient = _patient(clinic_a, "SYN-MON6", reproductive_potential=True)
    start_course(patient, start=ago(10), mg=Decimal("5"))
    record_visit(patient, date=ago(1), labs=[LabInput(test="pregnancy", result="negative")])
    with django_assert_num_queries(PATIENT_PAGE_QUERIES_EXACT + audit_entry_queries()):
        page = client_a.get(reverse("patients:detail", args=[patient.pk]))
    assert _item(page.content.decode(), "pregnancy") is not None


def test_the_box_says_which_programme_it_follows(client_a, clinic_a, settings):
    patient = _patient(clinic_a, "SYN-MON7", reproductive_potential=True)
    start_course(patient, start=ago(10), mg=Decimal("5"))
    url = reverse("patients:detail", args=[patient.pk])
    html = client_a.get(url).content.decode()  # eu: the default
    assert "EU Pregnancy Prevention Programme" in html
    item = _item(html, "pregnancy")
    # EU: one negative test in the 3 days before the start; none: due on the start day.
    assert f"Pregnancy test OVERDUE since {ago(10).isoformat()}" in item
    assert "negative test within the 3 days before the start" in item
    settings.CLE_PREGNANCY_PROGRAMME = "us"
    html = client_a.get(url).content.decode()
    assert "US REMS programme" in html and "EU Pregnancy" not in html


def test_a_man_with_potential_gets_counselling_not_pregnancy_tests(client_a, clinic_a):
    patient = create_patient(clinic_a, code="SYN-MON8", sex="M", birth_date=dt.date(1980, 1, 1),
                             reproductive_potential=True)
    start_course(patient, start=ago(10), mg=Decimal("5"))
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert _item(html, "pregnancy") is None
    assert 'data-monitoring="counselling"' in html and "Condom counselling" in html
    assert "Pregnancy test overdue" not in html
