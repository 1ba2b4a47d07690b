"""Import / export (namespace "exchange"): see patients/exchange_views.py."""

from django.urls import path

from patients import exchange_views

app_name = "exchange"
urlpatterns: list = [
    path("", exchange_views.index, name="index"),
    path("cle-tracker-2.schema.json", exchange_views.schema, name="schema"),
    path("cle-tracker-1.schema.json", exchange_views.schema_v1, name="schema_v1"),
    path("<uuid:clinic_id>/export.json", exchange_views.export, name="export"),
    path("<uuid:clinic_id>/visits.csv", exchange_views.visits_csv, name="visits_csv"),
    path("<uuid:clinic_id>/import/", exchange_views.upload, name="upload"),
]
