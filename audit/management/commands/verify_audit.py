"""Check the audit log's hash chain: every entry unchanged, none missing.

Exit status 0 and the head of the chain (seq and hash: note it somewhere
outside the database to detect a removal of the newest entries too), or
CommandError listing each break.
"""

from django.core.management.base import BaseCommand, CommandError

from audit import chain
from audit.models import AuditEntry, Event


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (finds a changed or a deleted entry)."

    def handle(self, *args, **options) -> None:
        seen: list = [0, None]  # count, newest entry

        def entries():
            for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
                seen[0], seen[1] = seen[0] + 1, entry
                yield entry

        breaks = list(chain.verify(entries()))
        breaks += _redactions_without_erasure()
        if breaks:
            lines = "\n".join(f"  entry {b.seq}: {b.problem}" for b in breaks[:50])
            more = f"\n  … and {len(breaks) - 50} more" if len(breaks) > 50 else ""
            raise CommandError(f"The audit log was tampered with ({len(breaks)} breaks):\n{lines}{more}")
        count, head = seen
        if head is None:
            self.stdout.write("The audit log is empty.")
        else:
            redacted = AuditEntry.objects.filter(redacted_at__isnull=False).count()
            self.stdout.write(
                f"{count} entries verified ({redacted} redacted by patient erasures); "
                f"head: entry {head.seq} {head.entry_hash}"
            )


def _redactions_without_erasure() -> list[chain.Break]:
    """A redaction is allowed only for a patient whose erasure is logged."""
    erased = {
        str(data.get("patient"))
        for data in AuditEntry.objects.filter(event=Event.ERASURE).values_list("additional_data", flat=True)
        if data
    }
    return [
        chain.Break(seq, "was redacted, but no erasure of its patient is logged")
        for seq, data in AuditEntry.objects.filter(redacted_at__isnull=False)
        .order_by("seq").values_list("seq", "additional_data")
        if str((data or {}).get("patient")) not in erased
    ]
