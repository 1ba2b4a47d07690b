from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from clinic.models import Clinic, Membership


@pytest.mark.django_db
def test_add_clinician_is_idempotent_and_sets_the_password(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long synthetic passphrase\n"))
    call_command("add_clinician", "maria", "--clinic", "Lupus clinic", "--password-stdin", stdout=io.StringIO())
    call_command("add_clinician", "maria", "--clinic", "Lupus clinic", stdout=io.StringIO())
    assert Clinic.objects.filter(name="Lupus clinic").count() == 1
    membership = Membership.objects.get(user__username="maria")
    assert membership.role == "clinician"
    assert get_user_model().objects.get(username="maria").check_password("a long synthetic passphrase")


@pytest.mark.django_db
def test_add_clinician_changes_role_and_refuses_weak_password(monkeypatch):
    call_command("add_clinician", "vera", "--clinic", "C", "--role", "viewer", stdout=io.StringIO())
    assert Membership.objects.get(user__username="vera").role == "viewer"
    assert not get_user_model().objects.get(username="vera").has_usable_password()
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError, match="password"):
        call_command("add_clinician", "vera", "--clinic", "C", "--password-stdin", stdout=io.StringIO())


@pytest.mark.django_db
def test_demo_command_twice_creates_nothing_twice():
    out = io.StringIO()
    call_command("demo", stdout=out)
    password = out.getvalue().split("demo / ")[1].split()[0]
    # The printed login is the one that works.
    assert get_user_model().objects.get(username="demo").check_password(password)
    from patients.models import Patient, Visit

    loaded = (Patient.objects.count(), Visit.objects.count())
    assert loaded[0] >= 10  # the synthetic demo cohort came with it
    call_command("demo", stdout=io.StringIO())
    assert (Patient.objects.count(), Visit.objects.count()) == loaded
    assert Clinic.objects.filter(name="Demo lupus clinic").count() == 1
    assert Membership.objects.filter(user__username="demo").count() == 1
    assert get_user_model().objects.filter(username="demo").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "clinic", "message"),
    [("", "Lupus clinic", "username"), ("maria", "   ", "clinic"), ("x y/z", "Lupus clinic", "username")],
)
def test_add_clinician_refuses_blank_or_invalid_names(username, clinic, message):
    with pytest.raises(CommandError, match=message):
        call_command("add_clinician", username, "--clinic", clinic, stdout=io.StringIO())
    assert not Clinic.objects.exists()
    assert not get_user_model().objects.exists()
