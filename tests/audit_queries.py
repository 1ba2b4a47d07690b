"""What one audit entry about patients costs in queries, for the pinned counts:
the chain's last link, the entry, its patient index, and on PostgreSQL the
chain's advisory lock (audit.chain)."""

from django.db import connection


def audit_entry_queries() -> int:
    return 3 + (connection.vendor == "postgresql")
