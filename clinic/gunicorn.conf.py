"""gunicorn settings for the CLE tracker: `gunicorn -c clinic/gunicorn.conf.py clinic.wsgi`.

Every value can be overridden from the environment (GUNICORN_*), so the
container and a bare host share this one file.

Workers: sync workers, 2 x cores + 1 (gunicorn's own advice), at least 2.
Timeout: 300 s. The longest web requests left are the downloads of a whole
clinic: for 3,200 patients and 64,000 visits the JSON export took 92 s and the
visits CSV 44 s on the 2-core test machine under a load average of 16
(bench/bench_upload.py; the README's "Deploying" has the numbers). Imports no
longer run in a request (background jobs, jobs/). A worker stuck past the
timeout is killed and replaced.
max_requests recycles each worker after a few thousand requests so a slow
leak never grows; the jitter keeps them from restarting all at once.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _int("GUNICORN_WORKERS", max(2, multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = _int("GUNICORN_TIMEOUT", 300)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = 200
# Request line and headers: bounded (gunicorn's defaults, stated). Bodies are
# bounded by the app (CLE_MAX_UPLOAD_MB, refused from Content-Length).
limit_request_line = 4094
limit_request_fields = 100
# A TLS proxy in front sets X-Forwarded-*: trust it only from these addresses
# (the proxy's; compose puts it on the same host).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Temporary upload files and worker heartbeats in memory, not on a container's
# overlay filesystem (gunicorn's advice for Docker).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No runtime control socket (recent gunicorn opens one under $HOME): signals
# (HUP, TERM, TTIN/TTOU) manage the server; the container's root is read-only.
control_socket_disable = True

# Logs: JSON lines on stdout through clinic.logs (no query strings, no
# referrers: a patient search is in the query string).
accesslog = "-"
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "clinic.logs.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
        }
    },
    # gunicorn merges this into its defaults, whose root names a handler replaced here.
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}
