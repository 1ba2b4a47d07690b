from django.urls import path

from photos import views

app_name = "photos"
urlpatterns = [
    # A visit's photographs and their upload.
    path("visits/<uuid:visit_id>/", views.visit_photos, name="visit"),
    # The files: only ever through these, never from a public path.
    path("<uuid:photo_id>/thumb.jpg", views.photo_file, {"variant": "thumb"}, name="thumb"),
    path("<uuid:photo_id>/screen.jpg", views.photo_file, {"variant": "screen"}, name="screen"),
    path("<uuid:photo_id>/full.jpg", views.photo_file, {"variant": "full"}, name="full"),
    path("<uuid:photo_id>/edit/", views.photo_edit, name="edit"),
    path("<uuid:photo_id>/delete/", views.photo_delete, name="delete"),
    # A patient's photo timeline per area, the comparison of two dates, the consent.
    path("patients/<uuid:patient_id>/", views.patient_photos, name="patient"),
    path("patients/<uuid:patient_id>/compare/", views.compare, name="compare"),
    path("patients/<uuid:patient_id>/consent/", views.consent_edit, name="consent"),
]
