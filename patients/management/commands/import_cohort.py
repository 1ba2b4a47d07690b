"""Import a cle-tracker/2 (or /1) document: `python manage.py import_cohort FILE [--update]`.

All or nothing: the first error is printed with its path in the document
and nothing is written. Photographs the document references (`export_cohort
--with-photos`) are read from the document's folder, or `--photos DIR`, and
are part of the all or nothing: one missing or altered file refuses it all. The clinic named in the document is created if needed.
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
        parser.add_argument(
            "--photos", metavar="DIR", dest="photos_dir",
            help="the folder of the photograph files (default: the document's folder)",
        )

    def handle(self, *args, file: str, update: bool, photos_dir: str | None = None,
               **options) -> None:
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
                photos_dir = photos_dir or str(Path(file).resolve().parent)
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        try:
            with document:
                result = import_document(
                    document,
                    existing="update" if update else "error",
                    source=source,
                    progress=TerminalProgress(),
                    photos_dir=Path(photos_dir) if photos_dir else None,
                )
        except DocumentError as error:
            raise CommandError(f"{source}: nothing imported. {error}") from None
        self.stdout.write(result.summary())
