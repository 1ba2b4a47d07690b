# syntax=docker/dockerfile:1
# The CLE tracker as one image: gunicorn and the background job worker.
#   docker build -t cle-tracker .
#   docker compose up            (with PostgreSQL: see compose.yaml and the README)

FROM python:3.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=clinic.settings
WORKDIR /app

# postgresql-client: pg_dump/pg_restore/psql for scripts/backup and
# scripts/restore, the same major version (15) as compose's database.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# The pinned dependencies first, so a code change does not reinstall them.
# psycopg[binary] and every other pin ship wheels: no compiler in the image.
COPY requirements.txt ./
RUN python -m pip install -r requirements.txt

# A user without a login shell or home to own nothing but what it must write.
RUN groupadd --system --gid 10001 cle \
    && useradd --system --uid 10001 --gid cle --no-create-home --shell /usr/sbin/nologin cle

COPY --chown=root:root . .
RUN chmod 0755 docker/entrypoint.sh

# Static files (plotly.js included) collected and compressed at build time,
# with production settings: hashed names, served by WhiteNoise. No secret is
# needed for collectstatic; the servers refuse to start without one.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY= python manage.py collectstatic --no-input \
    && mkdir -p /app/var && chown cle:cle /app/var

# Numeric, so orchestrators that insist on a non-root UID can check it.
USER 10001:10001
EXPOSE 8000

# /healthz checks the database; the Host header must be one of ALLOWED_HOSTS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; host = (os.environ.get('DJANGO_ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.') or 'localhost'; request = urllib.request.Request('http://127.0.0.1:8000/healthz', headers={'Host': host}); sys.exit(0 if urllib.request.urlopen(request, timeout=4).status == 200 else 1)"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["all"]
