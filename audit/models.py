"""The audit log: django-auditlog's entry, made append-only and chained.

AUDITLOG_LOGENTRY_MODEL points django-auditlog here, so its signals (every
create, update and delete of a registered model) write these entries; the
app's own events (sign-in, accesses of lists, exports) do too. What changes
from django-auditlog's entry:

- the actor is a snapshot: `actor_id` without a database constraint (deleting
  a user changes nothing here) and `actor_username` as it was at the time;
- `event` names what happened in the clinic's words (sign-in, access, ...);
- `seq`, `prev_hash`, `payload_digest`, `entry_hash`: the chain (audit.chain),
  checked by `manage.py verify_audit`; on PostgreSQL a trigger refuses UPDATE
  and DELETE, except the one redaction an erasure makes (`redacted_at`);
- the patients an entry is about are indexed (AuditEntryPatient), so a
  patient's history and the clinic report find list accesses too;
- a deletion of a clinical record keeps no clinical content.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.conf import settings
from django.db import connection, models, transaction

from audit import chain
from audit.context import current_request

# Apps whose records are clinical: their deletions keep no content.
CLINICAL_APPS = frozenset({"patients", "scoring"})


class Event(models.TextChoices):
    CREATE = "create", "created"
    UPDATE = "update", "changed"
    DELETE = "delete", "deleted"
    ACCESS = "access", "viewed"
    EXPORT = "export", "exported"
    SIGN_IN = "sign_in", "signed in"
    SIGN_IN_FAILED = "sign_in_failed", "failed to sign in"
    LOCKED_OUT = "locked_out", "was locked out"
    SIGN_OUT = "sign_out", "signed out"
    SIGNED_OUT_IDLE = "signed_out_idle", "was signed out (idle or session limit)"
    PASSWORD_CHANGE = "password_change", "changed the password"
    SECOND_FACTOR = "second_factor", "changed the second factor"
    SECOND_FACTOR_VERIFIED = "second_factor_ok", "confirmed the second factor"
    SECOND_FACTOR_FAILED = "second_factor_failed", "gave a wrong second-factor code"
    MEMBERSHIP = "membership", "changed a clinic membership"
    USER = "user", "changed a user account"
    ERASURE = "erasure", "erased a patient"


_ACTION_EVENT = {0: Event.CREATE, 1: Event.UPDATE, 2: Event.DELETE, 3: Event.ACCESS}
# Model changes that are account events, named as such (app label, model).
_MODEL_EVENT = {
    ("auth", "user"): Event.USER,
    ("clinic", "membership"): Event.MEMBERSHIP,
    ("otp_totp", "totpdevice"): Event.SECOND_FACTOR,
    ("otp_static", "staticdevice"): Event.SECOND_FACTOR,
}


def _event_of(entry: AuditEntry) -> Event:
    event = _MODEL_EVENT.get(entry.content_type.natural_key(), _ACTION_EVENT[entry.action])
    if event == Event.USER and set(entry.changes or {}) == {"password"}:
        return Event.PASSWORD_CHANGE
    return event


# The entries of one write, held until the end of batched_entries() (see there).
_batch: ContextVar[list | None] = ContextVar("audit_batch", default=None)


@contextmanager
def batched_entries() -> Iterator[None]:
    """Write the audit entries made inside the block as ONE batch when it ends.

    A visit save makes an entry per row it writes (the visit, its assessment,
    each lab and adverse event): written one by one, each cost the chain's
    lock, its last link, the entry and its patient index. Held here and
    linked in their order at the end of the block, they cost those four
    statements once. Use it inside the write's transaction: every entry is
    still written before the transaction commits, and none if it fails.
    Nested blocks join the outermost one."""
    if _batch.get() is not None:
        yield
        return
    pending: list = []
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    if pending:
        AuditEntry.objects.bulk_create(pending)


class AuditEntryManager(LogEntryManager):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            for entry in objs:
                entry.prepare()
            chain.link(objs, self.model)
            created = super().bulk_create(objs, *args, **kwargs)
            _insert_patient_links([link for entry in created for link in entry.patient_links()])
        return created


class AuditEntry(AbstractLogEntry):
    # The actor's id as it was: no constraint, nothing cascades or is set to null.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="actor",
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    event = models.CharField(max_length=32, choices=Event.choices, db_index=True)
    seq = models.PositiveBigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    payload_digest = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    # Set when an erasure removed what the entry said about the patient.
    redacted_at = models.DateTimeField(null=True, blank=True)

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        ordering = ["-seq"]
        get_latest_by = "seq"
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["actor", "timestamp"], name="audit_actor_time")]

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise TypeError("Audit entries are never changed once written.")
        pending = _batch.get()
        if pending is not None:
            pending.append(self)  # written with the others when batched_entries() ends
            return
        # No savepoint: a failed audit write fails the whole action.
        with transaction.atomic(savepoint=False):
            self.prepare()
            chain.link([self], type(self))
            super().save(*args, **kwargs)
            _insert_patient_links(self.patient_links())

    def delete(self, *args, **kwargs):
        raise TypeError("Audit entries are never deleted.")

    def prepare(self) -> None:
        """Fill who and where from the request, name the event, and drop the
        clinical content of a deletion."""
        # Stored as text: the hash must be of what is read back.
        self.object_pk = str(self.object_pk)
        request = current_request()
        if request is not None:
            from clinic.addresses import client_ip

            user = getattr(request, "user", None)
            if self.actor_id is None and user is not None and user.is_authenticated:
                self.actor = user
            if self.remote_addr is None:
                self.remote_addr = client_ip(request)
        if self.actor_id is not None and not self.actor_username:
            self.actor_username = self.actor.get_username()
            self.actor_email = getattr(self.actor, "email", None) or None
        if not self.event:
            self.event = _event_of(self)
        if self.action == self.Action.DELETE and self.content_type.app_label in CLINICAL_APPS:
            self.changes, self.changes_text, self.serialized_data = {}, "", None
            self.object_repr = self.content_type.name
            if self.content_type.model == "patient" and self.additional_data:
                self.object_repr = self.additional_data.get("code") or self.object_repr

    def patient_ids(self) -> list[str]:
        data = self.additional_data or {}
        shown = data.get("patients")
        ids = list(shown) if isinstance(shown, list) else []
        if data.get("patient"):
            ids.append(data["patient"])
        return ids

    def patient_links(self) -> list[tuple[int, str]]:
        """(entry id, patient id) of each patient the entry is about, once each."""
        return [(self.pk, pid) for pid in dict.fromkeys(self.patient_ids())]

    @property
    def actor_label(self) -> str:
        return self.actor_username or "system"


# Rows per INSERT of the patient index (two parameters each; PostgreSQL takes 65,535).
_LINKS_PER_INSERT = 1000


def _insert_patient_links(links: list[tuple[int, str]]) -> None:
    """Write the patient index of new entries: one multi-row INSERT per thousand links.

    A list page's entry names its 50 patients; building a model instance per link and
    compiling a bulk_create for them cost more CPU than the rest of the entry.
    The patient id goes in as the field stores it (uuid, or hex text on SQLite)."""
    if not links:
        return
    field = AuditEntryPatient._meta.get_field("patient_id")
    table = connection.ops.quote_name(AuditEntryPatient._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(links), _LINKS_PER_INSERT):
            chunk = links[start:start + _LINKS_PER_INSERT]
            params = [value for entry_id, pid in chunk
                      for value in (entry_id, field.get_db_prep_value(pid, connection))]
            cursor.execute(
                f"INSERT INTO {table} (entry_id, patient_id) VALUES "
                + ", ".join(["(%s, %s)"] * len(chunk)),
                params,
            )


class AuditEntryPatient(models.Model):
    """Which patients an entry is about: a patient's history and the report
    by patient find an entry of a list that showed them in one indexed query.
    Derived from the entry's hashed `additional_data`; never changed either."""

    entry = models.ForeignKey(AuditEntry, on_delete=models.PROTECT, related_name="patient_index")
    patient_id = models.UUIDField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "patient_id"], name="audit_entry_patient_once")
        ]
