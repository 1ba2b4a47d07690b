from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from clinic.env import database_from_url, env_bool, env_int


def test_env_bool_is_strict(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "off")
    assert env_bool("X_FLAG") is False
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")


def test_env_int_names_the_variable(monkeypatch):
    monkeypatch.setenv("X_NUM", "12x")
    with pytest.raises(ImproperlyConfigured, match="X_NUM"):
        env_int("X_NUM", 3)
    monkeypatch.delenv("X_NUM")
    assert env_int("X_NUM", 3) == 3


def test_database_urls():
    base = Path("/srv/app")
    assert database_from_url("sqlite:///var/db.sqlite3", base)["NAME"] == "/srv/app/var/db.sqlite3"
    assert database_from_url("sqlite:////tmp/x.db", base)["NAME"] == "/tmp/x.db"
    pg = database_from_url("postgres://u:p%40ss@db.internal:5433/cle?sslmode=require", base)
    assert (pg["ENGINE"], pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "django.db.backends.postgresql", "cle", "u", "p@ss", "db.internal", "5433",
    )
    # connect_timeout: a database that does not answer fails fast (clinic/env.py).
    assert pg["OPTIONS"] == {"sslmode": "require", "connect_timeout": "5"}
    with pytest.raises(ImproperlyConfigured):
        database_from_url("mysql://x/y", base)
    with pytest.raises(ImproperlyConfigured):
        database_from_url("postgres://host/", base)


def _run_without_django_env(code: str):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
    )


def test_a_server_refuses_to_start_without_a_secret_key():
    for module in ("clinic.wsgi", "clinic.asgi"):
        result = _run_without_django_env(f"import {module}")
        assert result.returncode != 0, module
        assert "DJANGO_SECRET_KEY" in result.stderr, module


def test_commands_that_sign_nothing_run_without_a_secret_key():
    # migrate, makemigrations --check and collectstatic are run by deploy scripts
    # and CI hooks before any secret is in place.
    result = _run_without_django_env(
        "import django, sys; django.setup(); from django.core.management import call_command;"
        "call_command('makemigrations', '--check', '--dry-run', verbosity=0)"
    )
    assert result.returncode == 0, result.stderr


def test_nothing_is_signed_with_an_empty_key(settings):
    from django.core import signing
    from django.core.exceptions import ImproperlyConfigured

    settings.SECRET_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        signing.dumps({"x": 1})
