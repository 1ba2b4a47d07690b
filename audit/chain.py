"""The hash chain that makes the audit log tamper-evident.

Each entry's hash covers its own content and the previous entry's hash, with
a gap-free sequence number: editing an entry breaks its own hash, deleting
one breaks the sequence and the next entry's link. What the entry says about
the record (its payload) is covered through its digest, so that erasing a
patient can redact it (marked, `redacted_at`) without breaking the chain. Entries are linked under
a lock (PostgreSQL advisory lock, held to the end of the writing
transaction), so two writers never fork the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

GENESIS = "0" * 64
# Any constant: the key of the one advisory lock that orders audit writes.
_LOCK_KEY = 0x41554449  # "AUDI"


def _json(value) -> str:
    # Round-trip first: the hash must be that of what the database gives back.
    plain = json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


def _type(content_type_id: int | None) -> list[str] | None:
    from django.contrib.contenttypes.models import ContentType

    if content_type_id is None:
        return None
    # app label and model name: stable across databases, unlike the row id.
    return list(ContentType.objects.get_for_id(content_type_id).natural_key())


def payload(entry) -> str:
    """What the entry says about the record: the part an erasure redacts.

    The chain covers its digest, not the text, so a redacted entry still
    links (and shows as redacted) while an edited one does not."""
    return _json(
        {
            "repr": entry.object_repr,
            "changes": entry.changes,
            "changes_text": entry.changes_text,
            "serialized": entry.serialized_data,
        }
    )


def payload_digest(entry) -> str:
    return hashlib.sha256(payload(entry).encode()).hexdigest()


def content(entry) -> str:
    """The canonical text the entry's hash is taken over."""
    return _json(
        {
            "seq": entry.seq,
            "prev": entry.prev_hash,
            "time": _timestamp(entry.timestamp),
            "event": entry.event,
            "action": entry.action,
            "type": _type(entry.content_type_id),
            "object": entry.object_pk,
            "payload": entry.payload_digest,
            "actor_id": entry.actor_id,
            "actor": entry.actor_username,
            "address": entry.remote_addr,
            "extra": entry.additional_data,
            "cid": entry.cid,
        }
    )


def digest(entry) -> str:
    return hashlib.sha256(content(entry).encode()).hexdigest()


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    # SQLite: one writer at a time already.


def link(entries: list, model) -> None:
    """Number and hash new entries after the last one stored.

    Call inside a transaction that then inserts them: the lock is held until
    that transaction ends.
    """
    _lock()
    # The last link, read by its unique index (raw: every audited request reads it,
    # and compiling it through the ORM cost more than running it).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, entry_hash FROM {model._meta.db_table} ORDER BY seq DESC LIMIT 1")
        last = cursor.fetchone()
    seq, prev = last if last else (0, GENESIS)
    for entry in entries:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.timestamp = timezone.now()
        entry.payload_digest = payload_digest(entry)
        entry.entry_hash = prev = digest(entry)


@dataclass(frozen=True)
class Break:
    seq: int
    problem: str


def verify(entries: Iterable) -> Iterator[Break]:
    """Every place where the stored chain is not what was written."""
    expected_seq, prev = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            yield Break(entry.seq, f"entries {expected_seq} to {entry.seq - 1} are missing")
        elif entry.prev_hash != prev:
            yield Break(entry.seq, "does not link to the entry before it")
        if digest(entry) != entry.entry_hash:
            yield Break(entry.seq, "its content was changed after it was written")
        elif entry.redacted_at is None and payload_digest(entry) != entry.payload_digest:
            yield Break(entry.seq, "its content was changed after it was written")
        expected_seq, prev = entry.seq + 1, entry.entry_hash
