"""docker/entrypoint.sh and clinic/gunicorn.conf.py, run on this machine as the
image runs them (no Docker daemon needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def _env(tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLE_", "GUNICORN_"))}
    env.update(
        CLE_APP_DIR=str(ROOT),
        PYTHON=sys.executable,
        CLE_SECRET_KEY_FILE=str(tmp_path / "var" / "secret_key"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    env.update(extra)
    return env


def test_the_secret_key_is_generated_once_and_kept_private(tmp_path):
    command = [str(ENTRYPOINT), "sh", "-c", 'printf %s "$DJANGO_SECRET_KEY"']
    first = subprocess.run(command, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert len(first.stdout) >= 50 and "generated a secret key" in first.stderr
    key_file = tmp_path / "var" / "secret_key"
    assert key_file.stat().st_mode & 0o077 == 0
    second = subprocess.run(command, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert second.stdout == first.stdout and "generated" not in second.stderr
    given = subprocess.run(
        command, env=_env(tmp_path, DJANGO_SECRET_KEY="from-the-environment"),
        capture_output=True, text=True, timeout=60,
    )
    assert given.stdout == "from-the-environment"


def test_it_gives_up_with_a_message_when_the_database_never_answers(tmp_path):
    env = _env(tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:1/none", CLE_DB_WAIT_SECONDS="2")
    result = subprocess.run(
        [str(ENTRYPOINT), "web"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "database not ready: OperationalError" in result.stderr
    assert "did not answer within 2 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_worker_role_migrates_then_runs_the_worker_until_sigterm(tmp_path):
    import signal
    import time

    env = _env(tmp_path)
    worker = subprocess.Popen(
        [str(ENTRYPOINT), "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        lines = []
        for line in worker.stdout:  # the worker logs once it is running
            lines.append(line)
            if "job worker started" in line or time.monotonic() > deadline:
                break
        assert any("job worker started" in line for line in lines), lines
        worker.send_signal(signal.SIGTERM)  # exec'd: the signal reaches run_jobs itself
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check"], cwd=ROOT,
        env=_env(tmp_path, DJANGO_SECRET_KEY="x"), capture_output=True, text=True, timeout=120,
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr


def test_gunicorn_accepts_its_config_and_the_app(tmp_path):
    check = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "-c", "clinic/gunicorn.conf.py",
         "clinic.wsgi"],
        cwd=ROOT, env=_env(tmp_path, DJANGO_SECRET_KEY="check-config-only"),
        capture_output=True, text=True, timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_gunicorn_settings_outlast_the_longest_request():
    import runpy

    config = runpy.run_path(str(ROOT / "clinic" / "gunicorn.conf.py"))
    assert config["timeout"] >= 120 and config["workers"] >= 2
    assert "%(r)s" not in str(config.get("access_log_format", ""))  # no query strings
    assert config["logconfig_dict"]["formatters"]["json"]["()"] == "clinic.logs.JsonFormatter"
