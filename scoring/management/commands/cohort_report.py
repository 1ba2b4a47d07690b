"""The outcome report of exchange-format.md for one clinic.

python manage.py cohort_report --clinic NAME --format json|text [--drug lenalidomide|thalidomide]
    [--as-of YYYY-MM-DD]

The record is read as it stood on --as-of (PatientRecord.as_of, and "today"
for running courses is that day). Bad input is a CommandError naming the
option: an unknown or unwatched drug, a date that is not one, a clinic with no
course of the drug by that day.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clinic.models import Clinic
from patients.dates import implausible
from scoring.cohort import DEFAULT_DRUG, clinic_cohort, watched_drugs
from clinical.rules.outcomes import format_text


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of: {text!r} is not a date (YYYY-MM-DD)") from None
    if implausible(day):
        raise CommandError(f"--as-of: {implausible(day)}")
    return day


class Command(BaseCommand):
    help = "Print a clinic's cohort outcome report (exchange-format.md) as JSON or text."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clinic", required=True, help="the clinic's name")
        parser.add_argument("--format", choices=("json", "text"), default="text")
        parser.add_argument(
            "--drug",
            default=DEFAULT_DRUG,
            help=f"one watched drug: {', '.join(watched_drugs())} (default {DEFAULT_DRUG})",
        )
        parser.add_argument(
            "--as-of", help="read the record as it stood on this date (default: today)"
        )

    def handle(
        self, *args, clinic: str, format: str, drug: str, as_of: str | None, **options
    ) -> None:
        if drug not in watched_drugs():
            raise CommandError(
                f"--drug: {drug!r} is not a watched drug; choose one of {', '.join(watched_drugs())}"
            )
        try:
            found = Clinic.objects.get(name=clinic)
        except Clinic.DoesNotExist:
            raise CommandError(f"no clinic named {clinic!r}") from None
        day = _date(as_of) if as_of else timezone.localdate()
        report = clinic_cohort(found, day, drug).report()
        if report["courses"] == 0:
            raise CommandError(
                f"clinic {clinic!r} has no {drug} course recorded by {day.isoformat()}: "
                "nothing to report"
            )
        if format == "json":
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(format_text(report), ending="")
