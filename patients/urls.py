from django.urls import path

from patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<uuid:patient_id>/", views.patient_detail, name="detail"),
    path("<uuid:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:patient_id>/history/", views.patient_history, name="history"),
    path("<uuid:patient_id>/visits/", views.patient_visits, name="visits"),
    path("<uuid:patient_id>/erase/", views.patient_erase, name="erase"),
    # Visits: log, preview (the live score panel), read, edit, delete.
    path("<uuid:patient_id>/visits/new/", views.visit_create, name="visit_create"),
    path("<uuid:patient_id>/visits/preview/", views.visit_preview, name="visit_preview"),
    path("visits/<uuid:visit_id>/", views.visit_detail, name="visit"),
    path("visits/<uuid:visit_id>/edit/", views.visit_edit, name="visit_edit"),
    path("visits/<uuid:visit_id>/preview/", views.visit_preview, name="visit_edit_preview"),
    path("visits/<uuid:visit_id>/delete/", views.visit_delete, name="visit_delete"),
    # Courses of any drug, their dose steps and interruptions.
    path("<uuid:patient_id>/courses/new/", views.course_start, name="course_start"),
    path("courses/<uuid:course_id>/dose/", views.dose_step_add, name="dose_step_add"),
    path("courses/<uuid:course_id>/withdraw/", views.course_withdraw, name="course_withdraw"),
    path("courses/<uuid:course_id>/edit/", views.course_edit, name="course_edit"),
    path("courses/<uuid:course_id>/delete/", views.course_delete, name="course_delete"),
    path("dose-steps/<uuid:step_id>/edit/", views.dose_step_edit, name="dose_step_edit"),
    path("dose-steps/<uuid:step_id>/delete/", views.dose_step_delete, name="dose_step_delete"),
    path("courses/<uuid:course_id>/interruptions/new/", views.interruption_add,
         name="interruption_add"),
    path("interruptions/<uuid:interruption_id>/edit/", views.interruption_edit,
         name="interruption_edit"),
    path("interruptions/<uuid:interruption_id>/resume/", views.interruption_resume,
         name="interruption_resume"),
    path("interruptions/<uuid:interruption_id>/delete/", views.interruption_delete,
         name="interruption_delete"),
]
