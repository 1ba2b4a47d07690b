"""``manage.py rebuild_patient_state [--stale]``: recompute the stored derived state.

Without options every patient's row is recomputed (after a deploy that changes
a rule, or after `migrate` created the placeholder rows). With ``--stale`` only
the rows the calendar has made stale (valid_until reached, or missing): the
daily job, run shortly after midnight in the site's time zone, e.g.

    5 0 * * *  cd /app && python manage.py rebuild_patient_state --stale

so that the pages rarely find a stale row to refresh themselves. Each chunk of
patients is one transaction under the patients' locks, so a running clinic's
writes are never overwritten by an older reading.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from patients.models import Patient
from scoring.state import CHUNK, refresh_states, stale


class Command(BaseCommand):
    help = "Recompute every patient's stored worklist state (--stale: only those the calendar made stale)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stale", action="store_true", help="only the stale or missing rows")

    def handle(self, *args, **options) -> None:
        today = timezone.localdate()
        patients = Patient.objects.all()
        if options["stale"]:
            patients = stale(patients, today)
        ids = list(patients.order_by("pk").values_list("pk", flat=True))
        written = 0
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            with transaction.atomic():
                list(Patient.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values_list("pk"))
                written += refresh_states(chunk, today)
        self.stdout.write(f"{written} patient state{'s' if written != 1 else ''} recomputed as of {today.isoformat()}")
