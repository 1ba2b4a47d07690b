"""One PatientState row per existing patient, marked stale.

The rules live in code that changes (clinical/), so a migration does not run
them: it writes placeholder rows dated stale (valid_until 2000-01-01), which the
first page read refreshes in bulk (scoring.state.refresh_stale), or at once with
`manage.py rebuild_patient_state` (the deploy step: README, "Derived state").
"""

import datetime as dt

from django.db import migrations

STALE = dt.date(2000, 1, 1)


def backfill(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    PatientState = apps.get_model("scoring", "PatientState")
    have = set(PatientState.objects.values_list("patient_id", flat=True))
    rows = [
        PatientState(patient_id=pk, computed_on=STALE, valid_until=STALE)
        for pk in Patient.objects.values_list("pk", flat=True).iterator()
        if pk not in have
    ]
    PatientState.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0002_patient_state")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
