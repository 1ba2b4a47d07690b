"""PatientState.clinic: the patient's clinic, so the clinic-wide pages read the
stored state through indexes that start with it (issue 13: their cost follows
the page, not the clinic's size). Existing rows take their patient's clinic."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery


def copy_clinics(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    PatientState = apps.get_model("scoring", "PatientState")
    PatientState.objects.update(
        clinic_id=Subquery(Patient.objects.filter(pk=OuterRef("patient_id")).values("clinic_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0002_clinic_name_not_empty"),
        ("scoring", "0003_patient_state_backfill"),
    ]

    operations = [
        migrations.AddField(
            model_name="patientstate",
            name="clinic",
            field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="+", to="clinic.clinic"),
        ),
        migrations.RunPython(copy_clinics, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="patientstate",
            name="clinic",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="+", to="clinic.clinic"),
        ),
        migrations.RemoveIndex(model_name="patientstate", name="state_worklist_order"),
        migrations.AddIndex(
            model_name="patientstate",
            index=models.Index(condition=Q(open_items__gt=0), fields=["clinic", "top_urgency", "-top_date"],
                               include=["patient"], name="state_open_worklist"),
        ),
        migrations.AddIndex(model_name="patientstate",
                            index=models.Index(fields=["clinic", "valid_until"], name="state_clinic_valid_until")),
        migrations.AddIndex(model_name="patientstate",
                            index=models.Index(fields=["clinic", "computed_on"], name="state_clinic_computed_on")),
        migrations.AddIndex(model_name="patientstate",
                            index=models.Index(fields=["clinic", "rules"], name="state_clinic_rules")),
    ]
