"""The History page reads like a clinical record and stays small."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEntry


def _history(client, patient):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("patients:history", args=[patient.pk]))
    assert response.status_code == 200
    return response, len(ctx.captured_queries)


@pytest.mark.django_db
def test_views_are_folded_and_queries_do_not_grow_with_them(client_a, patient_a):
    detail = reverse("patients:detail", args=[patient_a.pk])
    for _ in range(3):
        client_a.get(detail)
    _history(client_a, patient_a)  # warms the content-type cache
    small, few = _history(client_a, patient_a)
    for _ in range(60):
        client_a.get(detail)
    large, many = _history(client_a, patient_a)
    assert few == many
    html = large.content.decode()
    assert "Viewed 66 times by <strong>ana.clinician</strong>" in html
    assert html.count("<details>") == 1  # one line per person, the times behind it
    assert len(large.content) - len(small.content) < 60 * 120  # a short line per view at most


@pytest.mark.django_db
def test_times_are_local_and_users_are_named(client_a, clinician_a, patient_a, settings):
    from patients.services import record_visit

    settings.TIME_ZONE = "Europe/Madrid"
    record_visit(patient_a, date=dt.date(2025, 2, 1), clinician=clinician_a)
    entry = AuditEntry.objects.filter(content_type__model="visit").get()
    from zoneinfo import ZoneInfo

    local = entry.timestamp.astimezone(ZoneInfo("Europe/Madrid"))
    response, _ = _history(client_a, patient_a)
    html = response.content.decode()
    assert local.strftime("%Y-%m-%d %H:%M") in html
    assert "<strong>clinician</strong>: ana.clinician" in html  # not the user's id
    assert ".None" not in html  # no reverse relations ("patients.Visit.None")
