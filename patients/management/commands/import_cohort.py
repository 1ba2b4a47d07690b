"""Import a cle-tracker/2 (or /1) document: `python manage.py import_cohort FILE [--update]`.

All or nothing: the first error is printed with its path in the document
and nothing is written. The clinic named in the document is created if needed.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from patients.exchange import DocumentError, import_document
from patients.progress import TerminalProgress


class Command(BaseCommand):
    help = "Import a cle-tracker/2 or /1 JSON document (all or nothing)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the cle-tracker JSON file ('-' for standard input)")
        parser.add_argument(
            "--update",
            action="store_true",
            help="replace the details, courses and visits of patients whose code exists already",
        )

    def handle(self, *args, file: str, update: bool, **options) -> None:
        try:
            if file == "-":
                import io
                import sys

                # Standard input cannot be read twice (the importer may read
                # ahead for members that follow the patients): held as bytes.
                document = io.BytesIO(sys.stdin.buffer.read())
                source = "standard input"
            else:
                # Read one patient at a time by the importer, never whole.
                document = Path(file).open("rb")
                source = Path(file).name
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        try:
            with document:
                result = import_document(
                    document,
                    existing="update" if update else "error",
                    source=source,
                    progress=TerminalProgress(),
                )
        except DocumentError as error:
            raise CommandError(f"{source}: nothing imported. {error}") from None
        self.stdout.write(result.summary())
