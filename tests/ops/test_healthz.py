"""/healthz: 200 with the database up, 503 with it down; no sign-in, no HTTPS redirect."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import override_settings


@pytest.mark.django_db
def test_healthz_answers_200_without_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_is_down(client):
    with mock.patch.object(
        CursorWrapper, "execute", side_effect=OperationalError("connection refused")
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    # And it comes back by itself once the database does.
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_is_exempt_from_the_https_redirect_but_pages_are_not(client):
    with override_settings(SECURE_SSL_REDIRECT=True):
        assert client.get("/healthz").status_code == 200
        page = client.get("/patients/")
        assert page.status_code == 301 and page["Location"].startswith("https://")


@pytest.mark.django_db
def test_healthz_reads_nothing_else(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.get("/healthz")


def test_healthz_refuses_writes(client, db):
    assert client.post("/healthz").status_code == 405
