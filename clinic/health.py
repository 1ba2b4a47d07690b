"""`/healthz`: is this process able to serve? For the container's HEALTHCHECK,
the load balancer and monitoring.

Answers without sign-in (LoginRequiredMiddleware is told so) and without the
HTTPS redirect (SECURE_REDIRECT_EXEMPT), because the probes speak plain HTTP
to the container from inside the host. It says nothing about any record: only
whether the database answered, and how fast.
"""

from __future__ import annotations

import time

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        # No clean-up here: Django closes a connection that failed when the
        # request ends (close_old_connections), and checks it at the next one
        # (CONN_HEALTH_CHECKS), so the probe recovers with the database.
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return JsonResponse({"status": "ok", "database": "ok", "database_ms": elapsed_ms})
