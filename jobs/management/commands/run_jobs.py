"""The background worker: `python manage.py run_jobs` runs queued jobs (large
imports) one after another, beside the web server (compose.yaml starts it;
so does `make run`). Several workers may run: each job is claimed once.

--once runs what is queued and exits (tests, cron). SIGTERM/SIGINT let the
running job finish (it is one transaction) and then stop.
"""

from __future__ import annotations

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from jobs.services import claim_next, fail_stalled, run_job

logger = logging.getLogger("jobs.worker")


class Command(BaseCommand):
    help = "Run queued background jobs (large imports)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="run what is queued, then exit")
        parser.add_argument(
            "--poll", type=float, default=1.0, help="seconds between looks at the queue (1)"
        )
        parser.add_argument(
            "--stalled-minutes",
            type=int,
            default=30,
            help="a running job silent this long is marked failed (its worker died) (30)",
        )

    def handle(self, *args, once: bool, poll: float, stalled_minutes: int, **options) -> None:
        self.stopping = False
        if not once:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
            logger.info("job worker started")
        while not self.stopping:
            if not connection.in_atomic_block:  # (a test's transaction: keep it)
                # Like a request: drop a connection the database closed or that aged out.
                close_old_connections()
            stalled = fail_stalled(stalled_minutes)
            if stalled:
                logger.warning("%d stalled job(s) marked failed", stalled)
            job = claim_next()
            if job is None:
                if once:
                    break
                time.sleep(poll)
                continue
            started = time.monotonic()
            run_job(job)
            logger.info(
                "job %s %s in %.1f s", job.pk, job.state, time.monotonic() - started
            )
        if not once:
            logger.info("job worker stopped")

    def _stop(self, signum, frame) -> None:
        self.stopping = True
