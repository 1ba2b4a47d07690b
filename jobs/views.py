"""A job's page: progress while it runs (htmx polls the `progress` partial
every second), then its outcome. The job comes through clinic.access: 404
outside its clinic. Looking at an outcome is audited; the progress polls,
which show only counts, are not (one entry per poll would drown the log)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from clinic.access import get_for_user
from jobs.models import Job
from jobs.services import log_job_read


@require_safe
def job_detail(request: HttpRequest, job_id) -> HttpResponse:
    job = get_for_user(request.user, Job.objects.select_related("clinic", "created_by"), job_id)
    poll = bool(request.htmx)
    if job.finished:
        log_job_read(job)
    template = "jobs/job_detail.html#progress" if poll else "jobs/job_detail.html"
    response = render(request, template, {"nav": "exchange", "job": job})
    patch_vary_headers(response, ["HX-Request"])
    return response
