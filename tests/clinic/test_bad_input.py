"""Bad input never reaches a 500: every route, as a clinician of the clinic,
with garbage in every field a form of this app reads."""

from __future__ import annotations

import pytest

from patients.models import Patient, Visit
from tests.clinic.test_access import _url, app_routes, record_a  # noqa: F401  (fixture)

GARBAGE_VALUES = [
    "", "not a date", "2025-02-30", "-1", "99999999999999999999", "1e309", "NaN", "abc",
    "0x10", " 3 ", "\u0000", "<script>alert(1)</script>", "x" * 5000, "2025-01-01\u0000",
]
FIELDS = [
    "code", "name", "sex", "birth_date", "cle_subtypes", "sle", "sle_diagnosed", "note", "date",
    "clinician", "start", "end", "mg", "every_days", "stop_reason", "grade", "term", "test",
    "value", "unit", "result", "flag_key", "q", "page", "subtype", "on_drug", "flagged", "as_of",
    "format", "clinic", "update", "clasi-scalp-erythema", "clasi-scalp-scarring",
    "clasi-scalp_scarring", "clasi-dyspigmentation_lasts_12_months", "clasi-nonscarring_alopecia",
    "lab-0-test", "lab-0-value", "ae-0-term", "ae-0-grade", "labs-0-value", "events-0-grade",
    "no_clasi", "view",
]


def payloads():
    for value in GARBAGE_VALUES:
        yield {field: value for field in FIELDS}


@pytest.mark.django_db
def test_no_route_answers_500_to_garbage(client_a, record_a):  # noqa: F811
    counts = (Patient.objects.count(), Visit.objects.count())
    for name, params in app_routes():
        url = _url(name, params, record_a)
        for data in payloads():
            for method in ("get", "post"):
                response = getattr(client_a, method)(url, data)
                assert response.status_code < 500, (name, method, repr(data["code"])[:40])
    # Garbage created nothing (a rejected form writes nothing; the delete routes
    # may legitimately have removed the fixture's visit).
    assert Patient.objects.count() <= counts[0] and Visit.objects.count() <= counts[1]
    assert not Patient.objects.exclude(code="SYN-001").exists()


@pytest.mark.django_db
def test_an_upload_with_a_nul_character_is_refused_not_crashed(client_a, record_a):  # noqa: F811
    import io
    import json

    from django.urls import NoReverseMatch, reverse

    document = {
        "format": "cle-tracker/1",
        "clinic": "Clinic A - Lupus",
        "patients": [{"code": "NUL-1", "sex": "F", "note": "a\u0000b"}],
    }
    try:
        url = reverse("exchange:upload", args=[record_a["clinic_id"]])
    except NoReverseMatch:
        pytest.skip("no upload route")
    upload = io.BytesIO(json.dumps(document).encode())
    upload.name = "nul.json"
    response = client_a.post(url, {"file": upload, "document": upload})
    assert response.status_code < 500
    assert not Patient.objects.filter(code="NUL-1").exists()
