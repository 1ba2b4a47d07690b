"""Lab units written as free text that name a unit of the test's list are
rewritten as the list spells it (clasi.md 5.5): the old visit form offered
"×10⁹/L", "µmol/L" and "g/24 h", which are the list's 10^9/L, umol/L and
g/24h. Units that name nothing on the list (or are blank) are left exactly
as they are, for issue 11's repair command to show to a person: guessing a
unit would silently change a value by a factor of 1000.

The spellings are read through clinical.labs.normalise_unit, the one
definition of which spellings mean which unit; the lab table only grows, so
running this again later maps a superset and never changes a mapped row.
"""

from django.db import migrations

BATCH = 2000


def units_from_the_list(apps, schema_editor):
    from clinical.labs import LABS, UnknownUnit, normalise_unit

    LabResult = apps.get_model("patients", "LabResult")
    rows = LabResult.objects.exclude(unit="").filter(test__in=[k for k, lab in LABS.items() if lab.numeric])
    changed = []
    for lab in rows.only("id", "test", "unit").iterator(chunk_size=BATCH):
        try:
            listed = normalise_unit(lab.test, lab.unit)
        except UnknownUnit:
            continue
        if listed != lab.unit:
            lab.unit = listed
            changed.append(lab)
        if len(changed) >= BATCH:
            LabResult.objects.bulk_update(changed, ["unit"])
            changed = []
    LabResult.objects.bulk_update(changed, ["unit"])


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_stop_reason_relapse")]

    operations = [
        # Nothing to undo: the list's spelling reads the same value in the same unit.
        migrations.RunPython(units_from_the_list, migrations.RunPython.noop),
    ]
