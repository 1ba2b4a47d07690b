"""Background jobs (namespace "jobs"): see jobs/views.py."""

from django.urls import path

from jobs import views

app_name = "jobs"
urlpatterns: list = [
    path("<uuid:job_id>/", views.job_detail, name="detail"),
]
