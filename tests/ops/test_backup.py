"""scripts/backup then scripts/restore into an empty database gives an identical
export (issue 12). PostgreSQL only: pg_dump archives are PostgreSQL's; CI runs
the suite on PostgreSQL, so this runs there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "patients" / "demo_cohort.json"

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="backup and restore are pg_dump/pg_restore: set DATABASE_URL to PostgreSQL",
    ),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore") and shutil.which("psql")),
        reason="pg_dump, pg_restore and psql (postgresql-client) are not installed",
    ),
]


def _url(name: str) -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{name}"


def _run(args: list[str], database: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": _url(database)}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=300, **kwargs)


def _export(database: str, clinic: str) -> bytes:
    result = _run(
        [sys.executable, "manage.py", "export_cohort", "--clinic", clinic,
         "--settings=clinic.settings_test"],
        database,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


@pytest.fixture
def empty_database():
    """A new, empty database beside the test database, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restore"
    admin = connection.settings_dict | {"NAME": "postgres"}
    import psycopg

    params = {
        "host": admin["HOST"] or None, "port": admin["PORT"] or None,
        "user": admin["USER"] or None, "password": admin["PASSWORD"] or None,
        "dbname": "postgres",
    }
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_into_an_empty_database_gives_the_same_export(
    tmp_path, empty_database, clinic_a
):
    from patients.exchange import import_document

    import_document(json.loads(DEMO.read_text(encoding="utf-8")), clinic=clinic_a)
    source = connection.settings_dict["NAME"]
    before = _export(source, clinic_a.name)
    assert len(json.loads(before)["patients"]) == 15

    archive = tmp_path / "nightly.dump"
    backup = _run(["scripts/backup", str(archive)], source)
    assert backup.returncode == 0, backup.stderr.decode()
    assert backup.stdout.decode().strip() == str(archive)
    assert archive.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert not (tmp_path / "nightly.dump.partial").exists()

    restore = _run(["scripts/restore", str(archive)], empty_database)
    assert restore.returncode == 0, restore.stderr.decode()
    assert _export(empty_database, clinic_a.name) == before

    # A second restore into the now full database is refused, and changes nothing.
    again = _run(["scripts/restore", str(archive)], empty_database)
    assert again.returncode == 1
    assert "restore into an empty one" in again.stderr.decode()
    assert _export(empty_database, clinic_a.name) == before


def test_backup_refuses_a_database_that_is_not_postgresql(tmp_path):
    env = {**os.environ, "DATABASE_URL": "sqlite:///var/cle.sqlite3"}
    result = subprocess.run(
        ["scripts/backup", str(tmp_path / "x.dump")], cwd=ROOT, env=env, capture_output=True
    )
    assert result.returncode == 2 and b"not a PostgreSQL database" in result.stderr
