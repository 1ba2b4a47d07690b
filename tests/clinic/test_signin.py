"""Sign-in that withstands attack: lockout, second factor, session limits, cookies."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry, Event
from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"


def _try(client: Client, username: str, password: str, addr: str = "10.0.0.5"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=addr)


@pytest.mark.django_db
def test_ten_wrong_passwords_lock_the_account_and_the_right_one_is_then_refused(clinician_a, settings):
    client = Client()
    for _ in range(10):
        assert _try(client, "ana.clinician", "wrong").status_code in (200, 429)
    response = _try(client, "ana.clinician", PASSWORD)
    assert response.status_code == 429
    assert b"Sign-in locked for now" in response.content
    assert "_auth_user_id" not in client.session
    # From another address too: the account is locked, not only the address.
    assert _try(Client(), "ana.clinician", PASSWORD, addr="10.9.9.9").status_code == 429
    assert AuditEntry.objects.filter(event=Event.SIGN_IN_FAILED, object_repr="ana.clinician").count() >= 10
    assert AuditEntry.objects.filter(event=Event.LOCKED_OUT).exists()


@pytest.mark.django_db
def test_ten_wrong_passwords_from_one_address_lock_the_address(clinician_a, viewer_a):
    client = Client()
    for i in range(10):
        _try(client, f"nobody{i}", "wrong", addr="10.0.0.7")
    # Another user's right password, from the locked address: refused.
    assert _try(Client(), "victor.viewer", PASSWORD, addr="10.0.0.7").status_code == 429
    # The same user from elsewhere signs in.
    assert _try(Client(), "victor.viewer", PASSWORD, addr="10.0.0.8").status_code == 302


@pytest.mark.django_db
def test_the_lockout_ends_after_the_cool_off(clinician_a, settings):
    import datetime as dt

    from axes.models import AccessAttempt

    for _ in range(10):
        _try(Client(), "ana.clinician", "wrong")
    assert _try(Client(), "ana.clinician", PASSWORD).status_code == 429
    # Cool-off passed: age the attempts instead of sleeping.
    AccessAttempt.objects.update(attempt_time=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    assert _try(Client(), "ana.clinician", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_session_idle_past_the_limit_is_signed_out(client_a, patient_a, settings):
    url = reverse("patients:detail", args=[patient_a.pk])
    assert client_a.get(url).status_code == 200
    session = client_a.session
    session["cle_seen_at"] = time.time() - settings.CLE_IDLE_SECONDS - 1
    session.save()
    response = client_a.get(url)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client_a.session
    assert AuditEntry.objects.filter(event=Event.SIGNED_OUT_IDLE, object_repr="ana.clinician").count() == 1


@pytest.mark.django_db
def test_activity_does_not_outlive_the_hard_limit(client_a, patient_a, settings):
    url = reverse("patients:detail", args=[patient_a.pk])
    session = client_a.session
    session["cle_signed_in_at"] = time.time() - settings.CLE_SESSION_MAX_SECONDS - 1
    session["cle_seen_at"] = time.time()  # active a second ago
    session.save()
    response = client_a.get(url)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_the_cookie_ends_with_the_browser_and_limits_are_settings(settings):
    from django.conf import settings as live

    assert live.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert live.CLE_IDLE_SECONDS == 15 * 60
    assert live.CLE_SESSION_MAX_SECONDS == 12 * 3600


def test_secure_cookies_get_host_prefixed_names(monkeypatch):
    import importlib

    import clinic.settings as module

    monkeypatch.setenv("DJANGO_SECURE_COOKIES", "true")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x")
    secure = importlib.reload(module)
    try:
        assert secure.SESSION_COOKIE_NAME == "__Host-sessionid"
        assert secure.CSRF_COOKIE_NAME == "__Host-csrftoken"
        assert secure.SESSION_COOKIE_SECURE and secure.CSRF_COOKIE_SECURE
    finally:
        monkeypatch.undo()
        importlib.reload(module)


# -- second factor -----------------------------------------------------------------


def _code(key_hex: str) -> str:
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(key_hex)):06d}"


def _sign_in(username: str) -> Client:
    client = Client()
    assert _try(client, username, PASSWORD).status_code == 302
    return client


@pytest.mark.django_db
def test_clinicians_must_enrol_when_the_site_requires_it(clinician_a, patient_a, settings):
    settings.CLE_REQUIRE_2FA = True
    client = _sign_in("ana.clinician")
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_setup"))
    page = client.get(reverse("two_factor_setup"))
    assert b"<svg" in page.content  # the QR code, drawn here
    key = client.session["cle_2fa_pending_key"]
    assert client.post(reverse("two_factor_setup"), {"token": "000000" if _code(key) != "000000" else "111111"}).status_code == 400
    done = client.post(reverse("two_factor_setup"), {"token": _code(key)})
    assert done.status_code == 200 and done.content.count(b"<li><code>") == 10  # backup codes
    assert client.get(reverse("patients:list")).status_code == 200
    assert AuditEntry.objects.filter(event=Event.SECOND_FACTOR, actor_username="ana.clinician").exists()


@pytest.mark.django_db
def test_a_viewer_is_not_forced_to_enrol(viewer_a, settings):
    settings.CLE_REQUIRE_2FA = True
    client = _sign_in("victor.viewer")
    assert client.get(reverse("patients:list")).status_code == 200


@pytest.mark.django_db
def test_an_enrolled_user_gives_a_code_after_the_password(clinician_a, patient_a):
    from clinic.two_factor import enrol

    key = "3132333435363738393031323334353637383930"
    device, codes = enrol(clinician_a, key, _code(key))
    device.last_t = 0  # so the current code is accepted again below
    device.save()
    client = _sign_in("ana.clinician")
    url = reverse("patients:detail", args=[patient_a.pk])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_verify"))
    wrong = client.post(reverse("two_factor_verify"), {"token": "12345x"})
    assert wrong.status_code == 400
    assert client.get(url).status_code == 302
    # django-otp backs off after a wrong code (1 s, doubling): lift it rather than sleep.
    from django_otp.plugins.otp_static.models import StaticDevice

    StaticDevice.objects.update(throttling_failure_count=0, throttling_failure_timestamp=None)
    ok = client.post(reverse("two_factor_verify") + f"?next={url}", {"token": codes[0]})
    assert ok.status_code == 302 and ok["Location"] == url
    assert client.get(url).status_code == 200
    events = set(AuditEntry.objects.filter(actor_username="ana.clinician").values_list("event", flat=True))
    assert {Event.SECOND_FACTOR_FAILED, Event.SECOND_FACTOR_VERIFIED, Event.SIGN_IN} <= events
