"""The cohort page: the same numbers as the command, its charts, access and query count."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from patients.exchange import import_document
from tests.audit_queries import audit_entry_queries
from tests.scoring.test_cohort_report import EXPECTED, HAND_COHORT

URL = reverse("scoring:cohort")


@pytest.fixture
def hand_a(clinic_a):
    doc = json.loads(json.dumps(HAND_COHORT))
    import_document(doc, clinic=clinic_a)
    return clinic_a


def test_the_page_shows_the_reports_numbers_and_both_charts(client_a, hand_a):
    response = client_a.get(URL, {"as_of": "2026-01-01"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "3 of 5 (60.0%)" in html and "2 of 3 (66.7%)" in html and "3 / 5.5 / 8" in html
    assert 'data-figure-id="km-figure"' in html and 'id="km-figure"' in html
    assert 'data-figure-id="activity-figure"' in html
    assert "vendor/plotly.js-basic/plotly-basic.min.js" in html and "js/charts.js" in html
    km = response.context["km_figure"]
    assert km["data"][0]["name"] == "Relapse-free"
    # Number at risk printed under the axis.
    assert any(a["text"] == "3" for a in km["layout"]["annotations"])
    assert "<script>" not in html.replace('<script type="application/json"', "")  # no inline code


def test_json_of_the_page_equals_the_commands_report(client_a, hand_a):
    response = client_a.get(
        URL, {"clinic": str(hand_a.pk), "as_of": "2026-01-01", "format": "json"}
    )
    assert response.json() == EXPECTED


def test_a_clinic_outside_the_users_is_404_and_a_viewer_may_read(
    client_a, viewer_client, clinic_b, hand_a
):
    assert client_a.get(URL, {"clinic": str(clinic_b.pk)}).status_code == 404
    assert client_a.get(URL, {"clinic": "not-a-uuid"}).status_code == 404
    assert viewer_client.get(URL, {"as_of": "2026-01-01"}).status_code == 200


def test_a_user_of_two_clinics_gets_a_selector(client_a, clinician_a, clinic_b, hand_a):
    from clinic.models import Membership

    Membership.objects.create(user=clinician_a, clinic=clinic_b, role="viewer")
    html = client_a.get(URL).content.decode()
    assert '<select name="clinic"' in html and "Clinic B - Dermatology" in html
    other = client_a.get(URL, {"clinic": str(clinic_b.pk)})
    assert other.status_code == 200 and other.context["report"]["patients"] == 0


def test_a_bad_date_is_a_message_not_a_500(client_a, hand_a):
    response = client_a.get(URL, {"as_of": "31/12/2025"})
    assert response.status_code == 200
    assert "Enter the date as YYYY-MM-DD." in response.content.decode()


def test_the_page_runs_a_fixed_number_of_queries(client_a, clinic_a, django_assert_num_queries):
    small = json.loads(json.dumps(HAND_COHORT))
    small["patients"] = small["patients"][:1]
    import_document(small, clinic=clinic_a)
    client_a.get(URL)  # warm the session
    # One more than before the report read adverse events (with their visits, one query).
    with django_assert_num_queries(11 + audit_entry_queries()) as first:
        client_a.get(URL, {"as_of": "2026-01-01"})
    rest = json.loads(json.dumps(HAND_COHORT))
    rest["patients"] = rest["patients"][1:]
    import_document(rest, clinic=clinic_a, existing="skip")
    with django_assert_num_queries(len(first)):
        client_a.get(URL, {"as_of": "2026-01-01"})
