"""403, 404 and 500 pages in the app's style with a way back, DEBUG off (as in production)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_debug_is_off_for_these_tests(settings):
    assert settings.DEBUG is False


def test_404_is_styled_with_a_way_back(client_a):
    response = client_a.get("/patients/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'data-status="404"' in html and "css/app.css" in html
    assert f'href="{reverse("patients:list")}"' in html and "Back to the patients" in html


def test_403_is_styled_with_a_way_back(viewer_client, patient_a):
    response = viewer_client.get(reverse("patients:visit_create", args=[patient_a.pk]))
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-status="403"' in html and "Back to the patients" in html and "css/app.css" in html


@pytest.mark.urls("tests.clinic.error_urls")
def test_500_is_styled_with_a_way_back_and_no_traceback(clinician_a):
    client = Client(raise_request_exception=False)
    client.force_login(clinician_a)
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert 'data-status="500"' in html and 'href="/patients/"' in html and "css/app.css" in html
    assert "RuntimeError" not in html and "no user should read" not in html


def test_sign_in_and_password_pages_use_the_app_style(client, client_a):
    login = client.get(reverse("login")).content.decode()
    assert 'class="card narrow sign-in"' in login
    password = client_a.get(reverse("password_change")).content.decode()
    assert 'class="card narrow"' in password and 'class="field' in password and "Cancel" in password
    assert "<p>" not in password.split("<form")[1].split("</form>")[0]  # not form.as_p
