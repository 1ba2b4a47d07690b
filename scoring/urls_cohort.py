"""The cohort outcome page (included by scoring/urls.py, namespace "scoring")."""

from django.urls import path

from scoring import views_cohort

urlpatterns: list = [
    path("cohort/", views_cohort.cohort, name="cohort"),
]
