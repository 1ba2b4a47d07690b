"""Set up the demo clinic for `make run`: a clinic, a demo clinician, synthetic patients.

Idempotent: running it again creates nothing twice. The demo password is
generated afresh on each run and printed (never stored in the repo).
"""

from __future__ import annotations

import secrets

from django.core.management.base import BaseCommand

from clinic.models import Role
from clinic.services import enrol

DEMO_CLINIC = "Demo lupus clinic"
DEMO_USER = "demo"


class Command(BaseCommand):
    help = "Create or refresh the demo clinic and its demo clinician, and print the login."

    def handle(self, *args, **options):
        password = secrets.token_urlsafe(9)
        enrol(DEMO_USER, DEMO_CLINIC, Role.CLINICIAN, password)
        self.load_demo_cohort()
        self.stdout.write(
            "\n"
            f"  Demo clinic: {DEMO_CLINIC}\n"
            f"  Sign in at http://127.0.0.1:8000/ as  {DEMO_USER} / {password}\n"
            "  (a new password is set each time `make run` starts)\n"
        )

    def load_demo_cohort(self) -> None:
        """Import the synthetic demo cohort into the demo clinic (see patients.exchange)."""
        try:
            from patients.demo import load_demo_cohort
        except ImportError:
            return
        load_demo_cohort(DEMO_CLINIC, stdout=self.stdout)
