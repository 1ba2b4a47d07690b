"""Writes to jobs: enqueue an import, claim the next job, run it, report progress.

The import itself is patients.exchange.import_document, unchanged: all or
nothing in one transaction. Around it the runner holds the clinic's row lock
(SELECT ... FOR UPDATE NOWAIT on PostgreSQL), so an import started any other
way at the same moment is refused with a message instead of interleaving.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone

from clinic.models import Clinic
from jobs.models import ACTIVE_STATES, Job, JobKind, JobState

logger = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 0.5


class ImportBusy(Exception):
    """The clinic has an import queued or running already."""

    def __init__(self, job: Job | None) -> None:
        super().__init__("an import into this clinic is queued or running")
        self.job = job


def enqueue_import(clinic: Clinic, *, content: bytes, source: str, replace: bool, user) -> Job:
    """Queue an import of `content` into `clinic`; ImportBusy if one is active."""
    try:
        with transaction.atomic():
            return Job.objects.create(
                clinic=clinic,
                kind=JobKind.IMPORT,
                created_by=user,
                source=source[:255],
                replace=replace,
                payload=content,
                payload_bytes=len(content),
            )
    except IntegrityError:
        # one_active_import_per_clinic: also when two uploads race each other.
        active = Job.objects.filter(
            clinic=clinic, kind=JobKind.IMPORT, state__in=ACTIVE_STATES
        ).first()
        raise ImportBusy(active) from None


def claim_next() -> Job | None:
    """Take the oldest queued job (SKIP LOCKED: several workers never take the same)."""
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(state=JobState.QUEUED)
            .order_by("created_at")
            .first()
        )
        if job is None:
            return None
        job.state = JobState.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["state", "started_at", "updated_at"])
    return job


class ProgressWriter:
    """import_document's progress callback: writes phase/done/total to the job row.

    The import runs in one transaction, so a row written on its connection
    would stay invisible to the page that polls until the very end. On
    PostgreSQL the progress goes through a second connection of its own, in
    autocommit. SQLite allows one writer at a time: there progress is written
    only outside the import's transaction (the checking phase).
    """

    def __init__(self, job: Job) -> None:
        self.job_id = job.pk
        self.last = 0.0
        self.own = (
            connections.create_connection(DEFAULT_DB_ALIAS)
            if connection.vendor == "postgresql"
            else None
        )

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY_SECONDS and done < total:
            return
        self.last = now
        try:
            if self.own is not None:
                with self.own.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {Job._meta.db_table} SET phase = %s, done = %s, total = %s,"
                        " updated_at = %s WHERE id = %s",
                        [phase, done, total, timezone.now(), self.job_id],
                    )
            elif not connection.in_atomic_block:
                Job.objects.filter(pk=self.job_id).update(
                    phase=phase, done=done, total=total, updated_at=timezone.now()
                )
        except DatabaseError:
            # Progress is a courtesy: never let it fail the import.
            logger.warning("job progress could not be written", exc_info=True)

    def close(self) -> None:
        if self.own is not None:
            self.own.close()


class ClinicBusy(Exception):
    """Another import holds the clinic's row lock."""


@contextmanager
def _clinic_lock(clinic_id) -> Iterator[None]:
    """Hold the clinic's row for the import's transaction; ClinicBusy if another
    import holds it (PostgreSQL). SQLite takes one writer at a time anyway."""
    if not connection.features.has_select_for_update_nowait:
        yield
        return
    with transaction.atomic():
        try:
            list(Clinic.objects.select_for_update(nowait=True).filter(pk=clinic_id).values("pk"))
        except DatabaseError:
            raise ClinicBusy() from None
        yield


def run_job(job: Job) -> Job:
    """Run a claimed job to its end; the job row says how it went."""
    from patients.exchange import DocumentError, import_document

    progress = ProgressWriter(job)
    try:
        with _clinic_lock(job.clinic_id):
            # The stored text, read one patient at a time (no decoded copy of
            # the whole document; a memoryview is sliced, not copied).
            result = import_document(
                job.payload,
                clinic=job.clinic,
                existing="update" if job.replace else "error",
                source=job.source,
                actor=job.created_by,
                progress=progress,
            )
    except DocumentError as error:
        _finish(job, JobState.FAILED, error_path=error.path, error_message=error.message)
    except ClinicBusy:
        _finish(
            job,
            JobState.FAILED,
            error_message=(
                f"Another import into {job.clinic.name} was running at the same moment; "
                "nothing was imported. Upload the document again when it has finished."
            ),
        )
    except Exception:
        # Logged with its type and stack only (clinic.logs drops messages, which
        # can quote a row); the page says what the clinician needs to know.
        logger.exception("import job %s failed", job.pk)
        _finish(
            job,
            JobState.FAILED,
            error_message="The import stopped on an unexpected error; nothing was imported.",
        )
    else:
        _finish(job, JobState.DONE, summary=result.summary())
    finally:
        progress.close()
    return job


def _finish(job: Job, state: str, **outcome: str) -> None:
    job.state = state
    job.finished_at = timezone.now()
    job.payload = b""  # the record (or nothing) is what remains; no copy of the document
    for key, value in outcome.items():
        setattr(job, key, value)
    # Not the progress fields: the ProgressWriter's connection wrote those.
    job.save(update_fields=["state", "finished_at", "payload", "updated_at", *outcome])


def fail_stalled(older_than_minutes: int) -> int:
    """Jobs left "running" by a worker that died (the import rolled back with
    it): mark them failed so the clinic can import again."""
    cutoff = timezone.now() - dt.timedelta(minutes=older_than_minutes)
    stalled = Job.objects.filter(state=JobState.RUNNING, updated_at__lt=cutoff)
    return stalled.update(
        state=JobState.FAILED,
        finished_at=timezone.now(),
        payload=b"",
        error_message="The worker stopped during the import; nothing was imported. Upload again.",
    )


def log_job_read(job: Job) -> None:
    """Audit a look at a job's outcome: its summary or error can name patients."""
    from audit.models import AuditEntry as LogEntry

    LogEntry.objects.log_create(
        job.clinic,
        force_log=True,
        action=LogEntry.Action.ACCESS,
        changes={},
        additional_data={"job": str(job.pk), "viewed": f"{job.get_kind_display()} ({job.state})"},
    )
