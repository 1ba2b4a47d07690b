"""Export a clinic as a cle-tracker/1 document: `export_cohort --clinic NAME [FILE]`."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.models import Clinic
from patients.exchange import dumps_document, export_document


class Command(BaseCommand):
    help = (
        "Write a clinic's patients as a cle-tracker/1 JSON document (standard output by default)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clinic", required=True, help="the clinic's name")
        parser.add_argument("file", nargs="?", help="write here instead of standard output")

    def handle(self, *args, clinic: str, file: str | None, **options) -> None:
        try:
            found = Clinic.objects.get(name=clinic)
        except Clinic.DoesNotExist:
            raise CommandError(f"no clinic named {clinic!r}") from None
        text = dumps_document(export_document(found))
        if file:
            try:
                Path(file).write_text(text, encoding="utf-8")
            except OSError as error:
                raise CommandError(f"cannot write {file}: {error.strerror or error}") from None
        else:
            self.stdout.write(text, ending="")
