"""List stored lab values whose unit is not on their test's list (clasi.md 5.5).

`lab_units_report [--clinic NAME]`: one line per value (clinic, patient code,
visit date, test, value, unit, the units accepted) for a clinician to correct
on the visit form. Migration 0004 rewrote every known spelling to the list's;
what is left here could not be read without a guess (a factor of 1000 between
cells/uL and 10^9/L), so it is never converted or dropped silently: such a
value stays out of every rule and chart until a person fixes it.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from clinic.models import Clinic
from clinical.labs import LABS, UnknownUnit, normalise_unit
from patients.models import LabResult


def off_list_labs(clinic: Clinic | None = None):
    """Stored numeric lab rows whose unit is not on the test's list, in clinic, code, date order."""
    numeric = {key: lab for key, lab in LABS.items() if lab.numeric}
    # The database narrows to rows not spelled exactly as the list; Python decides the rest.
    spelled = Q()
    for key, lab in numeric.items():
        spelled |= Q(test=key, unit__in=lab.unit_names)
    rows = (
        LabResult.objects.filter(test__in=list(numeric))
        .exclude(spelled)
        .select_related("visit__patient__clinic")
        .order_by("visit__patient__clinic__name", "visit__patient__code", "visit__date", "test")
    )
    if clinic is not None:
        rows = rows.filter(visit__patient__clinic=clinic)
    for row in rows.iterator(chunk_size=2000):
        try:
            normalise_unit(row.test, row.unit)
        except UnknownUnit:
            yield row


class Command(BaseCommand):
    help = "List stored lab values whose unit is not on their test's list, for a clinician to correct."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clinic", help="only this clinic (its name)")

    def handle(self, *args, clinic: str | None = None, **options) -> None:
        found_clinic = None
        if clinic:
            try:
                found_clinic = Clinic.objects.get(name=clinic)
            except Clinic.DoesNotExist:
                raise CommandError(f"no clinic named {clinic!r}") from None
        count = 0
        for row in off_list_labs(found_clinic):
            count += 1
            patient = row.visit.patient
            value = "" if row.value is None else f"{row.value.normalize():f}"
            self.stdout.write(
                "\t".join((
                    patient.clinic.name,
                    patient.code,
                    row.visit.date.isoformat(),
                    row.test,
                    value,
                    repr(row.unit),
                    "use one of: " + ", ".join(LABS[row.test].unit_names),
                ))
            )
        if count:
            self.stdout.write(
                f"{count} lab value{'s' if count != 1 else ''} with a unit off the list: "
                "correct each on its visit form (they are left out of every rule and chart until then)."
            )
        else:
            self.stdout.write("Every stored lab value has a unit from its test's list.")
