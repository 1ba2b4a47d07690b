"""Import and export in a real browser: upload a document (a bad one first,
refused with its path, nothing written), then download the export and the CSV."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.conftest import sign_in_through_form

pytestmark = pytest.mark.browser


def _document(clinic_name: str, erythema: int) -> bytes:
    return json.dumps({
        "format": "cle-tracker/1",
        "clinic": clinic_name,
        "patients": [{
            "code": "UP-1", "sex": "F",
            "courses": [{"drug": "lenalidomide", "start": "2025-01-06",
                         "doses": [{"date": "2025-01-06", "mg": 5, "every_days": 1}]}],
            "visits": [{"date": "2025-01-06", "clasi": {"areas": {"ears": {"erythema": erythema}}}}],
        }],
    }).encode()


def test_upload_then_download_the_export_and_the_csv(
    page, live_server, transactional_db, clinic_a, clinician_a
):
    from patients.models import Patient

    sign_in_through_form(page, live_server, clinician_a.get_username())
    page.goto(f"{live_server.url}/exchange/")
    page.get_by_role("link", name="Import a document").click()

    upload = {"name": "cohort.json", "mimeType": "application/json"}
    page.set_input_files("input[type=file]", {**upload, "buffer": _document(clinic_a.name, 5)})
    page.get_by_role("button", name="Import").click()
    # The upload queued a background job; its page polls until the worker is done.
    page.wait_for_url(f"{live_server.url}/jobs/**")
    expect(page.locator("#job-progress")).to_contain_text("Waiting for the import worker")
    call_command("run_jobs", "--once")
    expect(page.locator("#job-progress")).to_contain_text("Nothing was imported")  # by htmx
    assert "patients[0].visits[0].clasi.areas.ears.erythema" in page.content()
    assert "5 is not one of 0, 1, 2, 3" in page.content()
    assert not Patient.objects.exists()

    page.get_by_role("link", name="Import a corrected document").click()
    page.set_input_files("input[type=file]", {**upload, "buffer": _document(clinic_a.name, 3)})
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(f"{live_server.url}/jobs/**")
    call_command("run_jobs", "--once")
    expect(page.locator("#job-progress")).to_contain_text("1 patients created")
    assert Patient.objects.get().code == "UP-1"
    page.goto(f"{live_server.url}/exchange/")

    with page.expect_download() as exported:
        page.get_by_role("link", name="Download the export (JSON)").click()
    document = json.loads(open(exported.value.path(), encoding="utf-8").read())
    assert document["patients"][0]["visits"][0]["clasi"]["areas"]["ears"]["erythema"] == 3

    with page.expect_download() as table:
        page.get_by_role("link", name="Download all visits (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(open(table.value.path(), encoding="utf-8").read())))
    assert [(r["patient"], r["ears_erythema"], r["activity"]) for r in rows] == [("UP-1", "3", "3")]


def test_the_cohort_page_draws_both_charts_with_the_report(
    page, live_server, transactional_db, clinic_a, clinician_a
):
    from tests.scoring.trend_factories import build_history

    build_history(clinic_a, "SYN-COH", n_visits=12, clinician=clinician_a)
    sign_in_through_form(page, live_server, clinician_a.get_username())
    page.goto(f"{live_server.url}/cohort/")
    expect(page.locator('.chart[data-rendered="true"]')).to_have_count(2)
    assert page.locator(".chart").count() == 2
    assert "Relapsed after withdrawal" in page.content()
