"""Concurrent audited requests on the zero-setup SQLite database.

Each audit entry reads the chain's last link and inserts the next one in one
transaction (audit.chain.link). On PostgreSQL an advisory lock serialises that;
SQLite's own lock is taken at the first write, so two deferred transactions
could both read the same last link and the second insert failed on the unique
`seq` (seen when a page's thumbnails loaded in parallel). The SQLite settings
begin every transaction IMMEDIATE (clinic.env.database_from_url), so the second
waits for the first. This test runs real threads on a file database.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection

from clinic.env import database_from_url


def test_sqlite_transactions_take_the_write_lock_at_their_start():
    assert database_from_url("sqlite:///var/x.sqlite3", Path("/srv"))["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.django_db(transaction=True)
def test_concurrent_audit_entries_on_sqlite_never_collide(clinic_a, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL serialises the chain with an advisory lock (tests/audit/test_chain.py)")
    from audit.models import AuditEntry, Event
    from audit.services import log_event

    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def write(n: int) -> None:
        from django.db import connections

        try:
            start.wait()
            for _ in range(5):
                log_event(Event.ACCESS, clinic_a, actor=None, repr=f"thread {n}", data={"n": n})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert len(seqs) >= 30 and seqs == list(range(seqs[0], seqs[0] + len(seqs)))
