"""The outcome report of exchange-format.md for one clinic.

python manage.py cohort_report --clinic NAME --format json|text [--as-of YYYY-MM-DD]
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clinic.models import Clinic
from patients.dates import implausible
from scoring.cohort import clinic_cohort
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
            "--as-of", help="read the record as it stood on this date (default: today)"
        )

    def handle(self, *args, clinic: str, format: str, as_of: str | None, **options) -> None:
        try:
            found = Clinic.objects.get(name=clinic)
        except Clinic.DoesNotExist:
            raise CommandError(f"no clinic named {clinic!r}") from None
        day = _date(as_of) if as_of else timezone.localdate()
        report = clinic_cohort(found, day).report()
        if format == "json":
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(format_text(report), ending="")
