from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from clinic import two_factor
from clinic.health import healthz

urlpatterns = [
    # Health probe: no sign-in, no HTTPS redirect, no patient data (clinic/health.py).
    path("healthz", healthz, name="healthz"),
    path("", RedirectView.as_view(pattern_name="patients:list", permanent=False)),
    path("accounts/two-factor/", two_factor.manage, name="two_factor"),
    path("accounts/two-factor/verify/", two_factor.verify, name="two_factor_verify"),
    path("accounts/two-factor/setup/", two_factor.setup, name="two_factor_setup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("audit/", include("audit.urls")),
    path("patients/", include("patients.urls")),
    path("exchange/", include("patients.exchange_urls")),
    path("photos/", include("photos.urls")),
    path("jobs/", include("jobs.urls")),
    path("", include("scoring.urls")),
]
