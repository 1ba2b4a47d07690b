"""Settings for the CLE tracker, every deployment-specific value from the environment.

DATABASE_URL      sqlite:///var/cle.sqlite3 (default) or postgres://user:pw@host:5432/name
DJANGO_SECRET_KEY required unless DJANGO_DEBUG is on (then a development key is used)
DJANGO_DEBUG      false by default
DJANGO_ALLOWED_HOSTS  comma-separated; defaults to localhost names while debugging
"""

import datetime as dt
from pathlib import Path


from csp.constants import NONE, SELF

from clinic.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_int_between,
    env_lab_units,
    env_list,
    env_str,
)
from photos.conf import photo_limits, photos_storage
from clinic.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)

_DEV_SECRET = "dev-only-insecure-key-never-used-in-production"
# Without debugging there is no default key. Commands that sign nothing
# (migrate, makemigrations, collectstatic) still run; the servers refuse to
# start without a key (clinic/wsgi.py, clinic/asgi.py), and Django refuses to
# sign anything with an empty one.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", default=_DEV_SECRET if DEBUG else "")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Before staticfiles: runserver leaves static files to WhiteNoise, as in production.
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "auditlog",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "clinic",
    "audit",
    "patients",
    "scoring",
    "photos",
    "jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # 413 from Content-Length alone, before WhiteNoise, sessions or CSRF read the body.
    "clinic.middleware.RequestSizeLimitMiddleware",
    # Static files (plotly.js included) served by the app itself, compressed and,
    # with the manifest storage, cached for a year by the browser.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A 200-visit patient page is ~156 KB of HTML and figure JSON, ~15 KB gzipped.
    # Django's GZipMiddleware pads responses against BREACH and CSRF tokens are
    # masked per request.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who acts and from where, for every audit entry of the request.
    "audit.context.AuditContextMiddleware",
    # Every page needs a signed-in user; the login page itself is exempt.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # no-store on every signed-in response (patient data), Permissions-Policy.
    "clinic.middleware.ClinicalHeadersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle sign-out and the session's hard limit, before any view.
    "clinic.sessions.SessionLimitsMiddleware",
    # request.user.is_verified(): whether the second factor was given.
    "django_otp.middleware.OTPMiddleware",
    # A user with a second factor (or who must have one) gives it before any page.
    "clinic.two_factor.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: counts failed sign-ins and answers a locked-out user or address.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in, even with the right password, while locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"
ASGI_APPLICATION = "clinic.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", default="sqlite:///var/cle.sqlite3"), BASE_DIR
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "patients:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", default="Europe/Madrid")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Production: `manage.py collectstatic` then hashed names, gzip, far-future
        # cache headers. Debugging and tests use the plain storage (no collectstatic).
        "BACKEND": env_str(
            "DJANGO_STATICFILES_STORAGE",
            default=(
                "django.contrib.staticfiles.storage.StaticFilesStorage"
                if DEBUG
                else "whitenoise.storage.CompressedManifestStaticFilesStorage"
            ),
        )
    },
    # Clinical photographs: private (outside static and media), see photos/conf.py.
    "photos": photos_storage(BASE_DIR),
}
CLE_PHOTO_LIMITS = photo_limits()
# While debugging, serve straight from the finders (no collectstatic needed).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Sessions and cookies: a clinical record is behind these.
SESSION_COOKIE_HTTPONLY = True
# Idle sign-out after CLE_IDLE_MINUTES without a request, and a hard limit of
# CLE_SESSION_HOURS from the sign-in whatever the activity (clinic.sessions).
CLE_IDLE_SECONDS = env_int("CLE_IDLE_MINUTES", 15) * 60
CLE_SESSION_MAX_SECONDS = env_int("CLE_SESSION_HOURS", 12) * 3600
SESSION_COOKIE_AGE = CLE_SESSION_MAX_SECONDS
# The cookie ends with the browser: a shared clinic computer forgets the sign-in.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if SESSION_COOKIE_SECURE:
    # __Host-: the browser accepts them only over HTTPS, for this host, path /.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_CONTENT_TYPE_NOSNIFF = True
# HTTPS: on by default outside debugging; a deployment behind a TLS proxy sets
# DJANGO_BEHIND_TLS_PROXY so Django trusts X-Forwarded-Proto from it.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a promise about the whole domain made to the browsers' lists:
# the hospital's call (DJANGO_HSTS_PRELOAD), so its check is silenced while off.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# The health probe speaks plain HTTP from inside the host (clinic/health.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
CLE_BEHIND_PROXY = env_bool("DJANGO_BEHIND_TLS_PROXY", default=False)
if CLE_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Proxies whose X-Forwarded-For is believed (addresses or networks). Empty and
# behind a TLS proxy: the one proxy in front of the app. Neither: the peer's
# own address, whatever the header says (clinic.addresses).
CLE_TRUSTED_PROXIES = env_list("DJANGO_TRUSTED_PROXIES", [])
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts only from this origin (htmx,
# plotly.js and the app's own are local static files; figures travel as JSON
# data blocks, never inline script). Styles from this origin plus exactly what
# plotly.js needs, by hash, never 'unsafe-inline':
# - its global rules: it creates an EMPTY <style> and fills it with CSSOM
#   insertRule, which CSP does not govern; the hash is the empty string's, so
#   no <style> with content is allowed;
# - bold text in chart labels and hovers (<b> in scoring/charts.py) becomes
#   <tspan style="font-weight:bold">: that one attribute value, by hash.
# Refused and harmless: the map libraries' stylesheet plotly.js injects at load
# (the app draws no maps).
EMPTY_INLINE_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
BOLD_STYLE_ATTRIBUTE = "'sha256-wkY2X5hecQzbhnFCqvTpwrUJ1f4X8LH5WFjYUzv1wmU='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, EMPTY_INLINE_STYLE],
        "style-src-attr": ["'unsafe-hashes'", BOLD_STYLE_ATTRIBUTE],
        # data: for the SVG icons plotly.js draws in its mode bar.
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Uploads: a body larger than CLE_MAX_UPLOAD_MB is refused from its Content-Length
# before anything reads it (clinic.middleware.RequestSizeLimitMiddleware, ahead
# of the CSRF check that would parse it); these are Django's own ceilings behind it.
CLE_MAX_UPLOAD_BYTES = env_int("CLE_MAX_UPLOAD_MB", 64) * 1024 * 1024
# Paths whose views refuse an oversized request themselves, before reading it
# (the photographs: up to CLE_PHOTO_MAX_FILES x CLE_PHOTO_MAX_MB per request).
CLE_OWN_UPLOAD_LIMIT_PATHS = ("/photos/",)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # non-file form fields
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # above this, an upload streams to a temp file

# Audit trail: django-auditlog logs writes (registered models) into the
# chained, append-only entries of the audit app; the app logs accesses,
# sign-ins and account events there too.
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"

# Sign-in lockout (django-axes): CLE_LOCKOUT_FAILURES wrong passwords lock the
# account and, separately, the address, for CLE_LOCKOUT_MINUTES; the right
# password is refused meanwhile.
AXES_FAILURE_LIMIT = env_int("CLE_LOCKOUT_FAILURES", 10)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("CLE_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "clinic.addresses.axes_client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Not reset by a success: a sign-in to the attacker's own account from the same
# address would otherwise wipe the count of guesses at a victim's.
AXES_RESET_ON_SUCCESS = False
# Axes' own log lines would carry usernames and addresses to stdout; the audit keeps them.
AXES_VERBOSE = False

# Second factor (django-otp, TOTP with backup codes): required of every
# clinician when CLE_REQUIRE_2FA is on; optional otherwise, but once a user has
# one it is asked at every sign-in.
CLE_REQUIRE_2FA = env_bool("CLE_REQUIRE_2FA", default=False)
OTP_TOTP_ISSUER = env_str("CLE_OTP_ISSUER", default="CLE tracker")

# Flare rules of clasi.md section 3 are project rules: sites may tune them.
CLE_FLARE_THRESHOLDS = {
    "mcid_points": env_int("CLE_MCID_POINTS", 4),
    "mcid_percent": env_int("CLE_MCID_PERCENT", 20),
    "watch_weeks": env_int("CLE_WATCH_WEEKS", 44),
    "baseline_lookback_days": env_int("CLE_BASELINE_LOOKBACK_DAYS", 30),
}

# Lenalidomide safety (clasi.md section 5): the site's pregnancy prevention
# programme (eu: the EU PPP, the default; us: REMS), the creatinine clearance
# below which a running course's dose is reviewed (mL/min; the US label's 60,
# older EU text 50), and the units its laboratory usually reports, which the
# visit form offers first ("anc=cells/uL,c3=mg/dL"; unset: the canonical unit).
CLE_PREGNANCY_PROGRAMME = env_choice("CLE_PREGNANCY_PROGRAMME", ("eu", "us"), "eu")
CLE_CRCL_REVIEW_ML_MIN = env_int_between("CLE_CRCL_REVIEW_ML_MIN", 60, 10, 150)
CLE_LAB_DEFAULT_UNITS = env_lab_units("CLE_LAB_DEFAULT_UNITS")

# Production: JSON lines on stdout without patient data (clinic/logs.py).
LOGGING = logging_config(
    structured=env_bool("DJANGO_LOG_JSON", default=not DEBUG),
    level=env_str("DJANGO_LOG_LEVEL", default="INFO"),
)
