#!/bin/sh
# The container's entrypoint: wait for the database, migrate, then run the
# given role.
#
#   entrypoint.sh all      gunicorn and the job worker in one container     [default]
#   entrypoint.sh web      gunicorn only (clinic/gunicorn.conf.py)
#   entrypoint.sh worker   the background job worker only (manage.py run_jobs)
#   entrypoint.sh CMD...   anything else is run as given (manage.py shell, ...)
#
# CLE_DB_WAIT_SECONDS (60): how long to wait for the database before giving up.
# DJANGO_SECRET_KEY: if empty, generated once into CLE_SECRET_KEY_FILE (var/secret_key).
# CLE_MIGRATE (true): run migrations first; set false on all but one replica.
set -eu

cd "${CLE_APP_DIR:-/app}"
PYTHON="${PYTHON:-python}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-clinic.settings}"

wait_for_database() {
    deadline=$(( $(date +%s) + ${CLE_DB_WAIT_SECONDS:-60} ))
    until "$PYTHON" - <<'PY'
import sys
try:
    import django
    django.setup()
    from django.db import connection
    connection.ensure_connection()
except Exception as error:  # say which, not the traceback; settings errors too
    print(f"entrypoint: database not ready: {type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
PY
    do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "entrypoint: the database did not answer within ${CLE_DB_WAIT_SECONDS:-60} s" >&2
            exit 1
        fi
        sleep 1
    done
}

# The secret key: from the environment, or generated once into the app's
# volume (compose's app-var), readable by this user only.
if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
    key_file="${CLE_SECRET_KEY_FILE:-$PWD/var/secret_key}"
    if [ ! -s "$key_file" ]; then
        mkdir -p "$(dirname "$key_file")"
        (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$key_file.tmp")
        mv "$key_file.tmp" "$key_file"
        echo "entrypoint: generated a secret key in $key_file" >&2
    fi
    DJANGO_SECRET_KEY="$(cat "$key_file")"
    export DJANGO_SECRET_KEY
fi

role="${1:-all}"
case "$role" in
    web|worker|all)
        wait_for_database
        if [ "${CLE_MIGRATE:-true}" = "true" ]; then
            "$PYTHON" manage.py migrate --no-input
            # The stored worklist state of rows the new code computes differently
            # (scoring.state.rules_version) or the calendar made stale: before serving.
            "$PYTHON" manage.py rebuild_patient_state --stale
        fi
        ;;
esac

case "$role" in
    web)
        exec "$PYTHON" -m gunicorn -c clinic/gunicorn.conf.py clinic.wsgi
        ;;
    worker)
        exec "$PYTHON" manage.py run_jobs
        ;;
    all)
        # One container for a single-host install: the worker in the background,
        # gunicorn beside it; whichever stops first takes the other with it.
        "$PYTHON" manage.py run_jobs &
        worker=$!
        "$PYTHON" -m gunicorn -c clinic/gunicorn.conf.py clinic.wsgi &
        server=$!
        # docker stop: SIGTERM to this shell (PID 1) is passed on to both; the
        # worker finishes the import it is running (one transaction) first.
        trap 'kill -TERM "$worker" "$server" 2>/dev/null; wait; exit 0' TERM INT
        while kill -0 "$worker" 2>/dev/null && kill -0 "$server" 2>/dev/null; do
            sleep 2
        done
        echo "entrypoint: the server or the worker stopped; stopping the other" >&2
        kill -TERM "$worker" "$server" 2>/dev/null || true
        wait
        exit 1
        ;;
    *)
        exec "$@"
        ;;
esac
