"""Bootstrap a deployment without the admin:

    python manage.py add_clinician USERNAME --clinic NAME [--role clinician|viewer] [--password-stdin]
"""

from __future__ import annotations

import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clinic.models import Role
from clinic.services import enrol


class Command(BaseCommand):
    help = "Create (if needed) a clinic, a user and the user's membership in it."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--clinic", required=True, help="The clinic's name (created if new).")
        parser.add_argument("--role", choices=Role.values, default=Role.CLINICIAN)
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the user's password from the first line of standard input.",
        )

    def handle(self, *args, username: str, clinic: str, role: str, password_stdin: bool, **options):
        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin: standard input had no password.")
            try:
                validate_password(password)
            except ValidationError as error:
                raise CommandError("password: " + " ".join(error.messages)) from None
        try:
            result = enrol(username, clinic, role, password)
        except ValueError as error:
            raise CommandError(str(error)) from None
        parts = [
            f"clinic {clinic!r} " + ("created" if result.clinic_created else "exists"),
            f"user {username!r} " + ("created" if result.user_created else "exists"),
            f"membership as {role} "
            + ("created" if result.membership_created else "changed" if result.role_changed else "unchanged"),
        ]
        if result.user_created and password is None:
            parts.append("no password set: use --password-stdin or `manage.py changepassword`")
        self.stdout.write("; ".join(parts))
