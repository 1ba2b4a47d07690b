"""Headers on responses that carry patient data (issue 12): CSP, HSTS, no-store,
Permissions-Policy; and `check --deploy` clean with production settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from patients.exchange import import_document

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "patients" / "demo_cohort.json"


def _csp(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in policy.split(";")
        if part.strip()
    }


def _assert_clinical_headers(response) -> None:
    csp = _csp(response)
    assert csp["script-src"] == "'self'"
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    # Styles: self and only the hash of the EMPTY string (plotly.js's CSSOM rules).
    assert csp["style-src"] == "'self' 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    cache = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response["X-Frame-Options"] == "DENY"


@pytest.fixture
def demo_a(clinic_a):
    import_document(json.loads(DEMO.read_text(encoding="utf-8")), clinic=clinic_a)
    return clinic_a


@pytest.mark.django_db
def test_patient_page_export_and_csv_carry_the_headers(client_a, demo_a, settings):
    from patients.models import Patient

    settings.SECURE_HSTS_SECONDS = 365 * 24 * 3600
    patient = Patient.objects.filter(clinic=demo_a).first()
    urls = [
        reverse("patients:detail", args=[patient.pk]),
        reverse("patients:list") + "?q=" + patient.code,
        reverse("exchange:export", args=[demo_a.pk]),
        reverse("exchange:visits_csv", args=[demo_a.pk]),
    ]
    for url in urls:
        response = client_a.get(url, secure=True)
        assert response.status_code == 200, url
        _assert_clinical_headers(response)
        assert response["Strict-Transport-Security"].startswith("max-age=31536000"), url


@pytest.mark.django_db
def test_the_htmx_partial_is_not_cached_either(client_a, demo_a):
    response = client_a.get(reverse("patients:list") + "?q=DEMO", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_sign_in_page_has_the_csp_and_no_patient_data_cache_rule_is_needed(client):
    response = client.get(reverse("login"))
    assert _csp(response)["frame-ancestors"] == "'none'"
    assert "Permissions-Policy" in response


def test_production_defaults_are_a_year_of_hsts():
    from django.conf import settings

    # clinic.settings_test only turns the redirect and secure cookies off.
    assert settings.SECURE_HSTS_SECONDS == 365 * 24 * 3600
    assert settings.SECURE_HSTS_INCLUDE_SUBDOMAINS is True


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    """`manage.py check --deploy --fail-level WARNING` with the environment a
    deployment sets (compose.yaml), on the real settings module."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CLE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DJANGO_SECRET_KEY="x9!Kq2#vL8@pZ4$wR7^tY1&uI6*oP3(aS5)dF0_gH-jJ+kLzXcVbNm" * 2,
        DJANGO_ALLOWED_HOSTS="clinic.example.org",
        DJANGO_BEHIND_TLS_PROXY="true",
        DATABASE_URL=f"sqlite:///{tmp_path / 'check.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
