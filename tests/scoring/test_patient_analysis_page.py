"""The patient page with the analysis: its SQL query count is pinned and does not grow with visits."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patients.models import Patient
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
# patient index, the chain lock on PostgreSQL), the record's stamp (the key of
# the page's cache, issue 13), the record (patients.snapshot, lean: visits with
# their assessments' totals, labs, courses, dose steps, interruptions) and the
# analysis' TWO queries (acknowledgements; photographs counted per visit for the
# trend's markers, scoring.selectors.photo_marks). A cached page skips the last seven.
# Engineer C owns the page: a change of its reads changes this number, on purpose.
# The patient's latest photographs (photos.selectors.recent_photos) are read only
# when the stamp counts a photograph: RECENT_PHOTOS_QUERIES more for such a patient.
PATIENT_PAGE_QUERIES_EXACT = 11
RECENT_PHOTOS_QUERIES = 1


@pytest.mark.django_db
def test_the_page_opens_with_todays_treatments_and_lists_every_course(client_a, clinic_a):
    from tests.exchange.test_export_v2 import rich_clinic

    rich_clinic(clinic_a)
    patient = Patient.objects.get(code="RR-01")
    html = client_a.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    today = html.split('id="current-h"', 1)[1].split("</section>", 1)[0]
    # Thalidomide first (watched), on hold since 2024-09-02; hydroxychloroquine beside it.
    assert today.index("Thalidomide") < today.index("Hydroxychloroquine")
    assert "on hold since" in today and "2024-09-02" in today
    assert "Lenalidomide" not in today and "Prednisone" not in today
    summary = html.split('id="summary-h"', 1)[1].split("</table>", 1)[0]
    for drug in ("Hydroxychloroquine", "Lenalidomide", "Prednisone", "Thalidomide"):
        assert drug in summary
    assert "on hold 2024-03-04 – 2024-03-18" in summary
