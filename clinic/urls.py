from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from clinic.health import healthz

urlpatterns = [
    # Health probe: no sign-in, no HTTPS redirect, no patient data (clinic/health.py).
    path("healthz", healthz, name="healthz"),
    path("", RedirectView.as_view(pattern_name="patients:list", permanent=False)),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("patients/", include("patients.urls")),
    path("exchange/", include("patients.exchange_urls")),
    path("photos/", include("photos.urls")),
    path("jobs/", include("jobs.urls")),
    path("", include("scoring.urls")),
]
