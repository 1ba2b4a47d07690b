"""Shared fixtures: three users who show every access rule, and Playwright set-up.

- clinician_a: clinician of clinic A (reads and writes)
- viewer_a:    viewer of clinic A (reads only)
- clinician_b: clinician of clinic B (sees nothing of clinic A)
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from decimal import Decimal

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# refuses to run there unless told that this is deliberate.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple 42"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def clinic_a(db):
    from clinic.models import Clinic

    return Clinic.objects.create(name="Clinic A - Lupus")


@pytest.fixture
def clinic_b(db):
    from clinic.models import Clinic

    return Clinic.objects.create(name="Clinic B - Dermatology")


def _member(username: str, clinic, role: str):
    from django.contrib.auth import get_user_model

    from clinic.models import Membership

    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    Membership.objects.create(user=user, clinic=clinic, role=role)
    return user


@pytest.fixture
def clinician_a(clinic_a):
    return _member("ana.clinician", clinic_a, "clinician")


@pytest.fixture
def viewer_a(clinic_a):
    return _member("victor.viewer", clinic_a, "viewer")


@pytest.fixture
def clinician_b(clinic_b):
    return _member("berta.outsider", clinic_b, "clinician")


@pytest.fixture
def client_a(client, clinician_a):
    client.force_login(clinician_a)
    return client


@pytest.fixture
def viewer_client(viewer_a):
    from django.test import Client

    c = Client()
    c.force_login(viewer_a)
    return c


@pytest.fixture
def outsider_client(clinician_b):
    from django.test import Client

    c = Client()
    c.force_login(clinician_b)
    return c


@pytest.fixture
def patient_a(clinic_a):
    from patients.services import create_patient

    return create_patient(
        clinic_a,
        code="SYN-001",
        name="Synthetic Patient",
        sex="F",
        birth_date=dt.date(1980, 1, 15),
        cle_subtypes=["DLE"],
        reproductive_potential=True,
    )


@pytest.fixture
def course_a(patient_a):
    from patients.services import start_course

    return start_course(patient_a, start=dt.date(2025, 1, 6), mg=Decimal("5"), every_days=1)


# -- Playwright (pytest-playwright's fixtures only) ----------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's chromium; Playwright's own browser download cannot run here.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
