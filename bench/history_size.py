"""Size of a demo patient's History page after a typical stretch of use.

Run from a tree's root with DATABASE_URL pointing at an empty SQLite file:
migrates, loads the demo cohort, has the demo clinician open the patient
with most visits 100 times and edit it once, then prints the History page's
size in bytes (uncompressed HTML). Run on two trees side by side to compare.
"""

import os
import sys

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings_test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

setup_test_environment()
call_command("migrate", verbosity=0)
call_command("demo", stdout=open(os.devnull, "w"))

from django.contrib.auth import get_user_model  # noqa: E402

from patients.models import Patient  # noqa: E402

patient = Patient.objects.annotate(n=Count("visits")).order_by("-n", "code").first()
client = Client()
client.force_login(get_user_model().objects.get(username="demo"))
for _ in range(100):
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
client.post(reverse("patients:edit", args=[patient.pk]),
            {"code": patient.code, "name": "Renamed for the bench", "sex": patient.sex, "note": ""})
response = client.get(reverse("patients:history", args=[patient.pk]))
print(f"{patient.code}: {patient.n} visits; history page {len(response.content)} bytes")
