"""The app's WSGI application, wrapped to record each request's CPU time (bench/bench_load.py only).

A sync gunicorn worker runs one request at a time in one thread, so the
thread's CPU time from the call to the end of the response is that request's
Python work (middleware, ORM, templates, gzip; not PostgreSQL's own CPU).
Each worker appends "kind cpu_ms" lines to $BENCH_CPU_DIR/<pid>.txt, the kind
coming from the load generator's X-Bench-Kind header. Never used by the app.
"""

from __future__ import annotations

import os
import time

from clinic.wsgi import application as _app

_DIR = os.environ.get("BENCH_CPU_DIR")


class _Closing:
    def __init__(self, body, kind: str, started: float) -> None:
        self._body, self._kind, self._started = body, kind, started

    def __iter__(self):
        return iter(self._body)

    def close(self) -> None:
        try:
            if hasattr(self._body, "close"):
                self._body.close()
        finally:
            cpu_ms = (time.thread_time() - self._started) * 1000
            with open(os.path.join(_DIR, f"{os.getpid()}.txt"), "a") as log:
                log.write(f"{self._kind} {cpu_ms:.3f}\n")


def application(environ, start_response):
    if not _DIR:
        return _app(environ, start_response)
    started = time.thread_time()
    body = _app(environ, start_response)
    return _Closing(body, environ.get("HTTP_X_BENCH_KIND", "other"), started)
