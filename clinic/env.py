"""Strict, typed readers for settings that come from the environment.

A typo in a deployment's environment must stop the server at start-up with a
message naming the variable, not run silently with a default.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Set the environment variable {name}.")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {sorted(_TRUE | _FALSE)}, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def database_from_url(url: str, base_dir) -> dict:
    """Translate DATABASE_URL into Django's DATABASES entry.

    Only the two engines the project supports are accepted: sqlite (the
    zero-setup default) and PostgreSQL through psycopg 3.
    """
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path
        path = unquote(parts.path)
        if path.startswith("/"):
            path = path[1:]
        if not path:
            raise ImproperlyConfigured("DATABASE_URL sqlite:/// needs a file path.")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path if path.startswith("/") else str(base_dir / path),
            # Every transaction takes SQLite's write lock when it begins: a deferred
            # one that read first (the audit chain's last link) and wrote second
            # failed as "database is locked" or on the chain's unique seq when two
            # requests wrote at once. The second now waits, up to `timeout` seconds.
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        }
    if scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL for PostgreSQL needs a database name.")
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        config = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": env_int("DJANGO_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
        }
        # A database that does not answer fails a request (and /healthz) in
        # seconds instead of holding a worker until gunicorn's timeout.
        options.setdefault("connect_timeout", str(env_int("DJANGO_DB_CONNECT_TIMEOUT", 5)))
        config["OPTIONS"] = options
        return config
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {scheme!r} is not supported; use sqlite:/// or postgres://."
    )


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of `choices` (case-insensitive); anything else stops the start-up."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {raw!r}.")
    return value


def env_int_between(name: str, default: int, low: int, high: int) -> int:
    value = env_int(name, default)
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be between {low} and {high}, not {value}.")
    return value


def env_lab_units(name: str) -> dict[str, str]:
    """The clinic's usual lab units, "anc=cells/uL, c3=mg/dL": each unit from its
    test's list (clasi.md 5.5), spelled as the list spells it; unset tests
    default to the canonical unit."""
    from clinical.labs import LABS, UnknownUnit, normalise_unit

    units = {key: lab.canonical for key, lab in LABS.items() if lab.numeric}
    for part in env_list(name, []):
        test, _, unit = part.partition("=")
        test = test.strip()
        if test not in units:
            raise ImproperlyConfigured(
                f"{name}: {test!r} is not a numeric lab test ({', '.join(units)})."
            )
        try:
            units[test] = normalise_unit(test, unit.strip())
        except UnknownUnit as error:
            raise ImproperlyConfigured(f"{name}: {error}.") from None
    return units
