"""Flare flags in the clinic's day: the needs-attention page and acknowledgements."""

from django.urls import path

from scoring import views_flags

urlpatterns: list = [
    path("attention/", views_flags.attention, name="attention"),
    path(
        "patients/<uuid:patient_id>/flags/acknowledge/",
        views_flags.acknowledge,
        name="acknowledge",
    ),
]
