"""Report photograph files without rows and rows without files.

Files without rows come from a crash between writing a file and committing
its row, or from a delete whose file removal failed; rows without files mean
lost photographs and need a person's attention. `--delete-files` removes the
files without rows (never rows).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from photos.models import Photo
from photos.services import photo_storage


def stored_names(storage, path: str = "") -> set[str]:
    dirs, files = storage.listdir(path)
    names = {f"{path}/{f}" if path else f for f in files}
    for d in dirs:
        names |= stored_names(storage, f"{path}/{d}" if path else d)
    return names


class Command(BaseCommand):
    help = "Find photograph files without rows and rows whose files are missing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--delete-files", action="store_true",
                            help="delete the files that no row refers to")

    def handle(self, *args, delete_files: bool = False, **options) -> None:
        storage = photo_storage()
        try:
            on_disk = stored_names(storage)
        except FileNotFoundError:
            on_disk = set()
        referenced: dict[str, str] = {}
        for pk, *names in Photo.objects.values_list("pk", "full_name", "screen_name", "thumb_name"):
            for name in names:
                referenced[name] = str(pk)
        orphan_files = sorted(on_disk - referenced.keys())
        missing = sorted((referenced[name], name) for name in referenced.keys() - on_disk)
        for name in orphan_files:
            self.stdout.write(f"file without row: {name}")
        for pk, name in missing:
            self.stdout.write(f"row without file: photograph {pk} ({name})")
        if delete_files:
            for name in orphan_files:
                storage.delete(name)
        self.stdout.write(
            f"{len(on_disk)} files, {len(referenced)} referenced; {len(orphan_files)} without row"
            f"{' (deleted)' if delete_files and orphan_files else ''}, {len(missing)} rows missing a file."
        )
        if missing:
            self.stderr.write("Some photographs have lost their files: restore them from backup.")
