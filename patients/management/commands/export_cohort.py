"""Export a clinic as a cle-tracker/2 document: `export_cohort --clinic NAME [FILE]`.

`--with-photos DIR` also writes every photograph's full version as DIR/<id>.jpg
and references them in the document (written to FILE, or DIR/cohort.json), so
`import_cohort DIR/cohort.json` takes the photographs back (photos/exchange.py).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.models import Clinic
from patients.exchange import dumps_document, export_document

DOCUMENT_BESIDE_PHOTOS = "cohort.json"


class Command(BaseCommand):
    help = (
        "Write a clinic's patients as a cle-tracker/2 JSON document (standard output by default)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--clinic", required=True, help="the clinic's name")
        parser.add_argument(
            "--with-photos", metavar="DIR", dest="photos_dir",
            help="also write the photographs (DIR/<id>.jpg) and reference them in the document, "
                 f"written to FILE or else DIR/{DOCUMENT_BESIDE_PHOTOS}",
        )
        parser.add_argument("file", nargs="?", help="write here instead of standard output")

    def handle(self, *args, clinic: str, file: str | None, photos_dir: str | None = None,
               **options) -> None:
        try:
            found = Clinic.objects.get(name=clinic)
        except Clinic.DoesNotExist:
            raise CommandError(f"no clinic named {clinic!r}") from None
        doc = export_document(found, photos=photos_dir is not None)
        if photos_dir is not None:
            from photos.exchange import ExportError, write_files

            folder = Path(photos_dir)
            try:
                # The files first: a document is never left pointing at files not written.
                count, size = write_files(doc, folder)
            except ExportError as error:
                raise CommandError(str(error)) from None
            except OSError as error:
                raise CommandError(f"cannot write {folder}: {error.strerror or error}") from None
            file = file or str(folder / DOCUMENT_BESIDE_PHOTOS)
            self.stderr.write(f"{count} photographs ({size / 1_048_576:.1f} MB) written to {folder}")
        text = dumps_document(doc)
        if file:
            try:
                Path(file).write_text(text, encoding="utf-8")
            except OSError as error:
                raise CommandError(f"cannot write {file}: {error.strerror or error}") from None
        else:
            self.stdout.write(text, ending="")
