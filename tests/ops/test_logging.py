"""Production logs are JSON lines on stdout that never hold patient data.

The production logging configuration (clinic.logs.logging_config(structured=True))
is installed for the test; requests for a patient's page, a search by code
and name, a 404 and a 500 whose exception quotes the patient are made; every
line must be JSON and none may contain the patient's code or name.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from clinic.logs import JsonFormatter, logging_config


@pytest.fixture
def production_logs():
    """Production's logging config (its default INFO level), into a buffer;
    the loggers it touches are put back afterwards."""
    names = ["", "django", "django.server", "django.db.backends"]
    saved = {
        name: (lg.level, list(lg.handlers), lg.propagate, lg.disabled)
        for name in names
        for lg in [logging.getLogger(name)]
    }
    stream = io.StringIO()
    logging.config.dictConfig(logging_config(structured=True, level="INFO"))
    logging.getLogger().handlers[0].setStream(stream)  # dictConfig opened sys.stdout
    yield stream
    for name, (level, handlers, propagate, disabled) in saved.items():
        lg = logging.getLogger(name)
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate, lg.disabled = propagate, disabled


@pytest.mark.django_db
def test_requests_for_a_patient_leave_no_code_or_name_in_the_logs(
    production_logs, clinician_a, patient_a
):
    client = Client(raise_request_exception=False)
    client.force_login(clinician_a)
    detail = reverse("patients:detail", args=[patient_a.pk])
    assert client.get(detail).status_code == 200
    assert client.get(reverse("patients:list"), {"q": patient_a.code}).status_code == 200
    assert client.get(reverse("patients:list"), {"q": patient_a.name}).status_code == 200
    # A 404 (logged by django.request with the request attached) with a search term.
    assert client.get(detail + "nope/", {"q": patient_a.name}).status_code == 404
    # A 500 whose exception message quotes the patient, as a database error would.
    boom = RuntimeError(f'Key (code)=({patient_a.code}) "{patient_a.name}" already exists')
    with mock.patch("patients.views.get_for_user", side_effect=boom):
        assert client.get(detail, {"q": patient_a.code}).status_code == 500

    lines = [line for line in production_logs.getvalue().splitlines() if line.strip()]
    assert len(lines) >= 2  # the 404 and the 500 were logged: this test sees the output
    entries = [json.loads(line) for line in lines]
    assert any(e.get("exception") == "RuntimeError" and e["stack"] for e in entries)
    assert any(e.get("status") == 404 for e in entries)
    text = production_logs.getvalue()
    for secret in (patient_a.code, patient_a.name, "Synthetic"):
        assert secret not in text


def test_gunicorn_access_lines_keep_the_path_but_not_the_query_or_referrer():
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, "%(r)s", None, None
    )
    record.args = {
        "r": "GET /patients/?q=SYN-001 HTTP/1.1", "m": "GET", "U": "/patients/",
        "q": "q=SYN-001", "s": 200, "B": 512, "M": 12, "f": "https://x/?q=SYN-001",
    }
    entry = json.loads(JsonFormatter().format(record))
    assert entry["path"] == "/patients/" and entry["status"] == 200 and entry["method"] == "GET"
    assert "SYN-001" not in json.dumps(entry)
