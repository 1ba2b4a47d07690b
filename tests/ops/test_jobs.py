"""Large imports run outside the request (issue 12): the upload queues a job,
`run_jobs` runs it, the page polls its progress and shows the outcome."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from audit.models import AuditEntry as LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from jobs.models import Job, JobState
from jobs.services import claim_next, enqueue_import, fail_stalled, run_job
from patients.models import Patient

DEMO = Path(__file__).resolve().parents[2] / "patients" / "demo_cohort.json"
ON_POSTGRES = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and a second connection need PostgreSQL"
)


def demo_bytes() -> bytes:
    return DEMO.read_bytes()


def _upload(client, clinic, content: bytes, update: bool = False):
    data = {"document": SimpleUploadedFile("cohort.json", content, "application/json")}
    if update:
        data["update"] = "on"
    return client.post(reverse("exchange:upload", args=[clinic.pk]), data)


@pytest.mark.django_db
def test_upload_queues_a_job_the_worker_runs_it_and_the_page_shows_the_outcome(
    client_a, clinic_a, clinician_a
):
    response = _upload(client_a, clinic_a, demo_bytes())
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs:detail", args=[job.pk])
    assert job.state == JobState.QUEUED and job.created_by == clinician_a
    assert not Patient.objects.exists()  # the request wrote nothing but the job

    page = client_a.get(response["Location"])
    html = page.content.decode()
    assert "Waiting for the import worker" in html and 'hx-trigger="every 1s"' in html
    assert "no-store" in page["Cache-Control"] and "HX-Request" in page["Vary"]
    poll = client_a.get(response["Location"], headers={"HX-Request": "true"})
    assert poll.content.decode().lstrip().startswith('<section id="job-progress"')

    call_command("run_jobs", "--once")
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.finished_at is not None
    assert bytes(job.payload) == b""  # no copy of the document is kept
    assert Patient.objects.filter(clinic=clinic_a).count() == 15
    # The import's own audit: one entry per patient, by the uploader.
    assert LogEntry.objects.filter(actor=clinician_a, additional_data__import="cohort.json").count() == 15

    before = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count()
    final = client_a.get(reverse("jobs:detail", args=[job.pk]), headers={"HX-Request": "true"})
    text = final.content.decode()
    assert "Imported." in text and "15 patients created" in text
    assert "hx-trigger" not in text  # polling stops
    assert LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count() == before + 1


@pytest.mark.django_db
def test_a_document_with_an_error_fails_with_its_path_and_writes_nothing(client_a, clinic_a):
    doc = json.loads(demo_bytes())
    bad = copy.deepcopy(doc)
    bad["patients"][3]["visits"][2]["clasi"]["areas"]["ears"] = {"erythema": 5}
    response = _upload(client_a, clinic_a, json.dumps(bad).encode())
    assert response.status_code == 302
    call_command("run_jobs", "--once")
    job = Job.objects.get()
    assert job.state == JobState.FAILED
    assert job.error_path == "patients[3].visits[2].clasi.areas.ears.erythema"
    html = client_a.get(response["Location"]).content.decode()
    assert "Nothing was imported" in html and "5 is not one of 0, 1, 2, 3" in html
    assert not Patient.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, words",
    [
        (b'{"format": "cle-tracker/1", "n": ' + b"9" * 5000 + b"}", b"5000 digits"),
        (b"[" * 990 + b"]" * 990, b"nested more than 32 levels"),
        (b'{"format": "cle-tracker/1", "note": "\\ud800"}', b"lone surrogate"),
    ],
)
def test_the_listed_bad_inputs_are_a_400_at_once(client_a, clinic_a, content, words):
    response = _upload(client_a, clinic_a, content)
    assert response.status_code == 400
    assert b"Nothing was imported" in response.content and words in response.content
    assert not Job.objects.exists() and not Patient.objects.exists()


@pytest.mark.django_db
def test_a_second_import_while_one_is_active_is_refused_with_a_message(client_a, clinic_a):
    assert _upload(client_a, clinic_a, demo_bytes(), update=True).status_code == 302
    second = _upload(client_a, clinic_a, demo_bytes(), update=True)
    assert second.status_code == 409
    html = second.content.decode()
    assert "already" in html and "One import at a time" in html
    assert Job.objects.count() == 1
    # Once it has run, the clinic can import again.
    call_command("run_jobs", "--once")
    assert _upload(client_a, clinic_a, demo_bytes(), update=True).status_code == 302


@pytest.mark.django_db
def test_a_job_of_clinic_a_is_404_for_clinic_b_and_readable_by_its_viewer(
    outsider_client, viewer_client, clinic_a, clinician_a
):
    job = enqueue_import(clinic_a, content=b"{}", source="x.json", replace=False, user=clinician_a)
    url = reverse("jobs:detail", args=[job.pk])
    assert outsider_client.get(url).status_code == 404
    assert outsider_client.get(url, headers={"HX-Request": "true"}).status_code == 404
    assert viewer_client.get(url).status_code == 200
    assert viewer_client.post(url).status_code == 405


def test_the_size_is_refused_from_content_length_before_the_body_is_read(settings):
    from clinic.middleware import RequestSizeLimitMiddleware

    class Unreadable(io.RawIOBase):
        def read(self, *args):
            raise AssertionError("the body was read")

    settings.CLE_MAX_UPLOAD_BYTES = 1024 * 1024
    request = RequestFactory().post("/exchange/x/import/", data=b"", content_type="multipart/form-data; boundary=x")
    request.META["CONTENT_LENGTH"] = str(23 * 1024 * 1024)
    request.META["wsgi.input"] = Unreadable()
    request._stream = Unreadable()

    def view(req):
        return req.POST  # would read the body

    response = RequestSizeLimitMiddleware(view)(request)
    assert response.status_code == 413
    text = response.content.decode()
    assert "23 MB" in text and "the limit for one upload is 1 MB" in text
    assert "manage.py import_cohort" in text


@pytest.mark.django_db
def test_an_oversized_upload_through_the_stack_is_413_and_queues_nothing(client_a, clinic_a, settings):
    settings.CLE_MAX_UPLOAD_BYTES = 1024
    response = _upload(client_a, clinic_a, b" " * 4096)
    assert response.status_code == 413
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_job_left_running_by_a_dead_worker_is_failed_later(clinic_a, clinician_a):
    job = enqueue_import(clinic_a, content=b"{}", source="x.json", replace=False, user=clinician_a)
    assert claim_next().pk == job.pk
    assert fail_stalled(older_than_minutes=30) == 0
    Job.objects.filter(pk=job.pk).update(updated_at=job.updated_at.replace(year=2020))
    assert fail_stalled(older_than_minutes=30) == 1
    job.refresh_from_db()
    assert job.state == JobState.FAILED and "worker stopped" in job.error_message


@ON_POSTGRES
@pytest.mark.django_db(transaction=True)
def test_progress_reaches_the_row_while_the_import_transaction_is_open(clinic_a, clinician_a):
    job = enqueue_import(clinic_a, content=demo_bytes(), source="d.json", replace=False, user=clinician_a)
    seen: list[tuple[str, int, int]] = []
    from jobs import services

    real = services.ProgressWriter.__call__

    def spy(self, phase, done, total):
        real(self, phase, done, total)
        if phase == "writing":
            # Read from a THIRD connection, as the polling page would.
            from django.db import DEFAULT_DB_ALIAS, connections

            other = connections.create_connection(DEFAULT_DB_ALIAS)
            try:
                with other.cursor() as cursor:
                    cursor.execute("SELECT phase, done, total FROM jobs_job WHERE id = %s", [job.pk])
                    seen.append(cursor.fetchone())
            finally:
                other.close()

    from unittest import mock

    with mock.patch.object(services.ProgressWriter, "__call__", spy):
        run_job(claim_next())
    assert seen and seen[-1] == ("writing", 15, 15)
    assert Patient.objects.count() == 15  # ...while those patients were not yet committed


@ON_POSTGRES
@pytest.mark.django_db(transaction=True)
def test_an_import_while_another_holds_the_clinic_is_refused_with_a_message(clinic_a, clinician_a):
    from django.db import DEFAULT_DB_ALIAS, connections

    job = enqueue_import(clinic_a, content=demo_bytes(), source="d.json", replace=True, user=clinician_a)
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    holder.set_autocommit(False)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT id FROM clinic_clinic WHERE id = %s FOR UPDATE", [clinic_a.pk])
        run_job(claim_next())
    finally:
        holder.rollback()
        holder.close()
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "Another import into Clinic A - Lupus was running at the same moment" in job.error_message
    assert not Patient.objects.exists()


# SIGTERM handling of the worker process: tests/ops/test_entrypoint.py (a real process).
