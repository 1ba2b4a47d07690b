"""Import / export pages: downloads for members, uploads for clinicians, errors on the page."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from patients.exchange import import_document
from patients.models import Patient, Visit

# The version 1 demo file (scripts/make_demo_cohort.py --format 1): version 1 still imports.
DEMO = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "demo_cohort_v1.json"


@pytest.fixture
def demo_a(clinic_a):
    import_document(json.loads(DEMO.read_text(encoding="utf-8")), clinic=clinic_a)
    return clinic_a


def _upload(client, clinic, doc, update=False):
    data = {
        "document": SimpleUploadedFile("cohort.json", json.dumps(doc).encode(), "application/json")
    }
    if update:
        data["update"] = "on"
    return client.post(reverse("exchange:upload", args=[clinic.pk]), data)


def test_index_lists_the_users_clinics_with_their_actions(client_a, viewer_client, clinic_a):
    html = client_a.get(reverse("exchange:index")).content.decode()
    assert clinic_a.name in html and reverse("exchange:upload", args=[clinic_a.pk]) in html
    viewer_html = viewer_client.get(reverse("exchange:index")).content.decode()
    assert reverse("exchange:export", args=[clinic_a.pk]) in viewer_html
    assert reverse("exchange:upload", args=[clinic_a.pk]) not in viewer_html


def test_export_download_is_the_clinics_document(viewer_client, demo_a):
    response = viewer_client.get(reverse("exchange:export", args=[demo_a.pk]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    doc = json.loads(response.content)
    assert doc["clinic"] == demo_a.name and len(doc["patients"]) == 15


def test_outsiders_get_404_and_viewers_cannot_upload(outsider_client, viewer_client, demo_a):
    for name in ("export", "visits_csv", "upload"):
        assert outsider_client.get(reverse(f"exchange:{name}", args=[demo_a.pk])).status_code == 404
    assert viewer_client.get(reverse("exchange:upload", args=[demo_a.pk])).status_code == 403
    assert _upload(viewer_client, demo_a, {}).status_code == 403


def _run_and_show(client, response) -> str:
    """The upload queued a job (jobs/): run the worker once, return the job's page."""
    from django.core.management import call_command

    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    call_command("run_jobs", "--once")
    return client.get(response["Location"]).content.decode()


def test_upload_imports_and_errors_are_shown_on_the_page(client_a, clinic_a):
    doc = json.loads(DEMO.read_text(encoding="utf-8"))
    bad = copy.deepcopy(doc)
    bad["patients"][3]["visits"][2]["clasi"]["areas"]["ears"] = {"erythema": 5}
    html = _run_and_show(client_a, _upload(client_a, clinic_a, bad))
    assert "Nothing was imported" in html
    assert (
        "patients[3].visits[2].clasi.areas.ears.erythema" in html
        and "5 is not one of 0, 1, 2, 3" in html
    )
    assert Patient.objects.count() == 0

    assert "Imported." in _run_and_show(client_a, _upload(client_a, clinic_a, doc))
    assert Patient.objects.filter(clinic=clinic_a).count() == 15

    again = _run_and_show(client_a, _upload(client_a, clinic_a, doc))
    assert "Nothing was imported" in again and "already has a patient" in again
    visits = Visit.objects.count()
    assert "Imported." in _run_and_show(client_a, _upload(client_a, clinic_a, doc, update=True))
    assert Visit.objects.count() == visits


def test_upload_of_something_that_is_not_json_is_a_message(client_a, clinic_a):
    data = {"document": SimpleUploadedFile("x.json", b"\xff\xfe garbage", "application/json")}
    response = client_a.post(reverse("exchange:upload", args=[clinic_a.pk]), data)
    assert response.status_code == 400 and "Nothing was imported" in response.content.decode()


def test_upload_needs_post_for_writes_and_csrf(clinician_a, clinic_a):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(clinician_a)
    doc = json.loads(DEMO.read_text(encoding="utf-8"))
    assert _upload(strict, clinic_a, doc).status_code == 403
    assert Patient.objects.count() == 0


def test_visits_csv_has_one_row_per_visit_with_every_raw_item(client_a, demo_a):
    response = client_a.get(reverse("exchange:visits_csv", args=[demo_a.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert len(rows) == Visit.objects.filter(patient__clinic=demo_a).count()
    header = list(rows[0])
    assert header[:3] == ["patient", "date", "scalp_erythema"]
    assert "scalp_scarring" not in header[:60] or header.count("scalp_scarring") == 1
    assert "feet_scarring" in header and "nonscarring_alopecia" in header
    assert header[-13:] == [
        "activity",
        "damage",
        "severity",
        "weight_kg",
        "watched_drug",
        "course_start",
        "dose_mg",
        "dose_every_days",
        "on_hold",
        "days_since_course_start",
        "days_since_withdrawal",
        "treatments",
        "photos",
    ]
    first = rows[0]
    assert first["patient"] == "DEMO-01" and first["date"] == "2024-10-07"
    assert (
        first["course_start"] == "2024-10-07"
        and first["dose_mg"] == "5"
        and first["days_since_course_start"] == "0"
    )
    assert first["days_since_withdrawal"] == ""
    assert first["watched_drug"] == "lenalidomide" and first["on_hold"] == "0"
    assert first["treatments"] == "Lenalidomide 5 mg daily"
    # The activity column is the sum of the activity items of that row.
    erythema_scale = sum(int(v) for k, v in first.items() if k.endswith(("_erythema", "_scale")))
    exam_items = sum(
        int(first[k]) for k in ("mucous_membrane", "recent_hair_loss", "nonscarring_alopecia")
    )
    assert int(first["activity"]) == erythema_scale + exam_items
    after = [r for r in rows if r["patient"] == "DEMO-01" and r["course_start"] == ""]
    assert after and all(int(r["days_since_withdrawal"]) > 0 for r in after)
    assert all(r["treatments"] == "" for r in after)


def test_csv_guards_against_formula_injection(client_a, clinic_a):
    doc = {
        "format": "cle-tracker/1",
        "clinic": "x",
        "patients": [
            {"code": '=HYPERLINK("http://x")', "sex": "F", "visits": [{"date": "2025-01-01"}]},
            {"code": "-2+3", "sex": "F", "visits": [{"date": "2025-01-01"}]},
        ],
    }
    import_document(doc, clinic=clinic_a)
    text = client_a.get(reverse("exchange:visits_csv", args=[clinic_a.pk])).content.decode()
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert sorted(r[0] for r in rows) == ["'-2+3", '\'=HYPERLINK("http://x")']


def test_schema_download(viewer_client):
    response = viewer_client.get(reverse("exchange:schema"))
    assert response.status_code == 200
    schema = json.loads(b"".join(response.streaming_content))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_pages_need_login(client, clinic_a):
    for url in (
        reverse("exchange:index"),
        reverse("exchange:schema"),
        reverse("exchange:export", args=[clinic_a.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
