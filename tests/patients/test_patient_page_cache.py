"""The patient page (issue 13): the latest visits with the rest one click away, and
its expensive part cached on the record's stamp, today and the thresholds, so that
a cached page is never served after any change of what it shows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinical.instruments.exam import parse_exam
from patients.models import LabResult, Visit
from patients.views import LATEST_VISITS
from scoring.models import Assessment
from scoring.services import assessment_values
from tests.audit_queries import audit_entry_queries
from tests.scoring.test_patient_analysis_page import PATIENT_PAGE_QUERIES_EXACT

# A cached page: session, user, the patient, the audit entry of the access, the stamp
# (and the latest photographs' thumbnails when the stamp counts any: outside the cache,
# photos.selectors.recent_photos). Skipped: the lean record (5), the acknowledgements,
# the photographs per visit.
CACHED_PAGE_QUERIES = PATIENT_PAGE_QUERIES_EXACT - 7


def _visits(patient, n: int, activity_item: int = 2) -> list[Visit]:
    start = dt.date(2024, 1, 1)
    visits = Visit.objects.bulk_create(
        Visit(patient=patient, date=start + dt.timedelta(days=7 * i)) for i in range(n)
    )
    exam = parse_exam({"areas": {"chest": {"erythema": activity_item}}})
    Assessment.objects.bulk_create(Assessment(visit=v, **assessment_values(exam)) for v in visits)
    return visits


def _get(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return response, len(ctx.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 200])
def test_a_second_view_is_served_from_the_cache_in_a_fixed_number_of_queries(client_a, patient_a, n):
    _visits(patient_a, n)
    url = reverse("patients:detail", args=[patient_a.pk])
    first, first_queries = _get(client_a, url)
    again, again_queries = _get(client_a, url)
    assert first_queries == PATIENT_PAGE_QUERIES_EXACT + audit_entry_queries()
    assert again_queries == CACHED_PAGE_QUERIES + audit_entry_queries()
    # The same page, but for the per-response tokens (CSRF, CSP nonce).
    assert _untokened(first) == _untokened(again)


def _untokened(response) -> str:
    import re

    return re.sub(r'[A-Za-z0-9_+/=-]{32,}', "", response.content.decode())


@pytest.mark.django_db
def test_the_table_shows_the_latest_visits_and_links_to_all(client_a, patient_a):
    visits = _visits(patient_a, LATEST_VISITS + 5)
    page = client_a.get(reverse("patients:detail", args=[patient_a.pk])).content.decode()
    table = page.split('id="visits-table"', 1)[1].split("</table>", 1)[0]
    assert visits[-1].date.isoformat() in table and visits[5].date.isoformat() in table
    assert visits[4].date.isoformat() not in table
    # The chart's table keeps every visit.
    assert page.count('<th scope="row">') >= len(visits)
    all_url = reverse("patients:visits", args=[patient_a.pk])
    assert f'href="{all_url}"' in page and f"All {len(visits)} visits" in page
    everything = client_a.get(all_url).content.decode()
    assert all(v.date.isoformat() in everything for v in visits)


@pytest.mark.django_db
def test_the_all_visits_page_is_audited_and_kept_to_the_clinic(client_a, patient_a, client):
    from audit.models import AuditEntry

    before = AuditEntry.objects.count()
    assert client_a.get(reverse("patients:visits", args=[patient_a.pk])).status_code == 200
    assert AuditEntry.objects.count() == before + 1


def _activities(client, patient) -> list[str]:
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    return [cell.split(">", 1)[1].split("<", 1)[0]
            for cell in page.split('data-testid="visit-activity"')[1:]]


@pytest.mark.django_db
def test_no_change_is_hidden_by_the_cache(client_a, patient_a):
    """Each kind of write, through the services or straight into the tables, shows at once."""
    from patients.services import LabInput, record_visit, start_course, update_visit

    _visits(patient_a, 3)
    url = reverse("patients:detail", args=[patient_a.pk])
    assert _activities(client_a, patient_a) == ["2", "2", "2"]
    # A visit through the service.
    visit = record_visit(patient_a, date=dt.date(2025, 6, 4),
                         exam=parse_exam({"areas": {"chest": {"erythema": 3}}}))
    assert _activities(client_a, patient_a) == ["2", "2", "2", "3"]
    # Its examination corrected (the visit's version moves).
    visit.refresh_from_db()
    update_visit(visit, date=visit.date, exam=parse_exam({"areas": {"chest": {"erythema": 1}}}),
                 labs=[LabInput(test="c3", value=Decimal("0.5"), unit="g/L")], version=visit.version)
    assert _activities(client_a, patient_a)[-1] == "1"
    assert "0.5 g/L" in client_a.get(url).content.decode()
    # A lab added straight into the table (no service, no version): the count moves.
    LabResult.objects.create(visit=visit, test="c4", value=Decimal("0.07"), unit="g/L")
    assert "0.07 g/L" in client_a.get(url).content.decode()
    # A visit deleted straight in the table.
    Visit.objects.filter(pk=visit.pk).delete()
    assert _activities(client_a, patient_a) == ["2", "2", "2"]
    # A course.
    start_course(patient_a, start=dt.date(2024, 1, 1), mg=Decimal("5"))
    assert "Lenalidomide" in client_a.get(url).content.decode()


@pytest.mark.django_db
def test_a_new_day_is_a_new_page(client_a, patient_a):
    """Flags and monitoring are relative to today: the key holds the date."""
    _visits(patient_a, 3)
    url = reverse("patients:detail", args=[patient_a.pk])
    client_a.get(url)
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with mock.patch("django.utils.timezone.localdate", return_value=tomorrow):
        _, queries = _get(client_a, url)
    assert queries == PATIENT_PAGE_QUERIES_EXACT + audit_entry_queries()


@pytest.mark.django_db
def test_the_cached_pages_forms_carry_each_requests_own_csrf_token(clinic_a, clinician_a, viewer_a):
    """The analysis (with its acknowledge forms) is cached as HTML: the token in it is
    a placeholder that every view replaces with its own request's token, and a
    viewer's page, which has no form, is another rendering."""
    from django.test import Client

    from patients.views import CSRF_PLACEHOLDER
    from tests.scoring.test_flag_pages import the_flag
    from tests.scoring.trend_factories import build_history

    patient = build_history(clinic_a, "SYN-CSRF", n_visits=5)
    url = reverse("patients:detail", args=[patient.pk])
    tokens = []
    for _ in range(2):  # the first view fills the cache, the second is served from it
        client = Client(enforce_csrf_checks=True)
        client.force_login(clinician_a)
        html = client.get(url).content.decode()
        assert CSRF_PLACEHOLDER not in html and 'class="ack-form"' in html
        ack = html.split('class="ack-form"', 1)[1]
        token = ack.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        tokens.append(token)
    assert tokens[0] != tokens[1]  # each session its own secret, each view its own token
    flag = the_flag(patient)
    # The last page's token is accepted by the acknowledge view (CSRF enforced).
    done = client.post(reverse("scoring:acknowledge", args=[patient.pk]),
                       {"flag_key": flag.key, "note": "Seen.", "csrfmiddlewaretoken": tokens[-1]})
    assert done.status_code == 302
    viewer = Client()
    viewer.force_login(viewer_a)
    html = viewer.get(url).content.decode()
    assert 'class="ack-form"' not in html and CSRF_PLACEHOLDER not in html
