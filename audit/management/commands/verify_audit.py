"""Check the audit log's hash chain: every entry unchanged, none missing.

Exit status 0 and the head of the chain (seq and hash: note it somewhere
outside the database to detect a removal of the newest entries too), or
CommandError listing each break.
"""

from django.core.management.base import BaseCommand, CommandError

from audit import chain
from audit.models import AuditEntry


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (finds a changed or a deleted entry)."

    def handle(self, *args, **options) -> None:
        seen: list = [0, None]  # count, newest entry

        def entries():
            for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
                seen[0], seen[1] = seen[0] + 1, entry
                yield entry

        breaks = list(chain.verify(entries()))
        if breaks:
            lines = "\n".join(f"  entry {b.seq}: {b.problem}" for b in breaks[:50])
            more = f"\n  … and {len(breaks) - 50} more" if len(breaks) > 50 else ""
            raise CommandError(f"The audit log was tampered with ({len(breaks)} breaks):\n{lines}{more}")
        count, head = seen
        if head is None:
            self.stdout.write("The audit log is empty.")
        else:
            self.stdout.write(f"{count} entries verified; head: entry {head.seq} {head.entry_hash}")
