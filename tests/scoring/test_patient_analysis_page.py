"""The patient page with the analysis: its SQL query count is pinned and does not grow with visits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.audit_queries import audit_entry_queries
from tests.scoring.trend_factories import build_history

pytestmark = pytest.mark.django_db


# -- the patient page (engineer C's view) with the analysis: query count pinned --



@pytest.mark.parametrize("n_visits", [5, 200])
def test_patient_page_queries_do_not_grow_with_visits(
    client_a, clinic_a, clinician_a, n_visits, django_assert_num_queries
):
    patient = build_history(clinic_a, f"SYN-P{n_visits}", n_visits=n_visits, clinician=clinician_a)
    url = reverse("patients:detail", args=[patient.pk])
    with django_assert_num_queries(PATIENT_PAGE_QUERIES_EXACT + audit_entry_queries()):
        page = client_a.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-figure-id="trend-figure"' in html and 'id="trend-figure"' in html
    assert "Relapse after complete response" in html
    assert html.count("<tr>") >= n_visits  # every visit is on the page, not a sample


# Exact count of the patient page for a clinician, the same for 5 and 200
# visits: session and user, the patient (with clinic and role), the audit
# "accessed" entry (audit_entry_queries: the chain's last link, the entry, its
# patient index, the chain lock on PostgreSQL), the record (visits with assessments, labs, adverse events,
# courses, dose steps) and the analysis' ONE query (acknowledgements).
# Engineer C owns the page: a change of its reads changes this number, on purpose.
PATIENT_PAGE_QUERIES_EXACT = 9
