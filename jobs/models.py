"""Background jobs: work too long for a web request (a large import), run by
`manage.py run_jobs`, a worker process beside the web server.

A job belongs to a clinic and is reached only through clinic.access (404
outside the clinic). Its payload (the uploaded document) is dropped once the
job has run: the record itself is the copy to keep.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from clinic.models import Clinic


class JobState(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Running"
    DONE = "done", "Finished"
    FAILED = "failed", "Nothing was imported"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


class JobKind(models.TextChoices):
    IMPORT = "import", "Import of a cle-tracker document"


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=JobKind.choices, default=JobKind.IMPORT)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life from the worker (progress), to tell a stalled job.
    updated_at = models.DateTimeField(auto_now=True)
    # What to run: the uploaded file's name and bytes, and whether existing
    # patients are replaced ("update") or the document refused ("error").
    source = models.CharField(max_length=255, blank=True)
    replace = models.BooleanField(default=False)
    payload = models.BinaryField(default=b"", editable=False)
    payload_bytes = models.PositiveBigIntegerField(default=0)
    # Progress as import_document reports it: phase ("checking", "writing"), done of total.
    phase = models.CharField(max_length=16, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # The outcome: the import's summary, or the first error with its path.
    summary = models.TextField(blank=True)
    error_path = models.TextField(blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=[s.value for s in JobState]), name="job_state_valid"
            ),
            # One import at a time per clinic, said by the database: two
            # "replace" imports of the same patients can never interleave.
            models.UniqueConstraint(
                fields=["clinic"],
                condition=models.Q(kind="import", state__in=[s.value for s in ACTIVE_STATES]),
                name="one_active_import_per_clinic",
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="job_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} into {self.clinic_id} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    @property
    def percent(self) -> int:
        """Checking is the first half of the bar, writing the second."""
        if self.state == JobState.DONE:
            return 100
        if not self.total:
            return 0
        share = self.done * 50 // self.total
        return share + (50 if self.phase == "writing" else 0)
