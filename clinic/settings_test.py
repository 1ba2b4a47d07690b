"""Settings for the test suite: the real settings with test-only values.

The secret key below signs nothing outside a test run.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-key-signs-nothing-real")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
os.environ.setdefault("DJANGO_SSL_REDIRECT", "false")

from clinic.settings import *  # noqa: E402,F401,F403

ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Hashing passwords slowly protects real accounts; tests only need speed.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "photos": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# No collectstatic in tests: WhiteNoise serves from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# SQLite: the test database is a file, not shared memory, so the browser tests'
# server threads each open their own connection, as the real server's do (in
# shared memory they shared one connection, and concurrent requests interleaved
# their transactions on it).
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
