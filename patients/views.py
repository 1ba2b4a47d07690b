"""Patient pages: thin views over access, selectors and services."""

from __future__ import annotations

from auditlog.models import LogEntry
from auditlog.signals import accessed
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from clinic.access import can_write, clinics_for, get_for_user, writable_clinics
from patients import selectors, services
from patients.forms import PatientForm
from patients.models import Patient
from scoring import selectors as scoring_selectors

PAGE_SIZE = 50


@require_safe
def patient_list(request: HttpRequest) -> HttpResponse:
    patients = selectors.patients_for(request.user)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    clinics = clinics_for(request.user)
    context = {"page": page, "clinics": clinics, "can_add": any(c.can_write for c in clinics)}
    return render(request, "patients/patient_list.html", context)


@require_safe
def patient_detail(request: HttpRequest, patient_id) -> HttpResponse:
    patient = get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id)
    # Opening a patient's record is itself audited (who looked, when).
    accessed.send(sender=Patient, instance=patient)
    record = selectors.patient_record(patient)
    context = {
        "patient": patient,
        "can_write": can_write(patient),
        **record,
        # The trend chart, flags and course summary come from the scoring app.
        **scoring_selectors.patient_analysis(patient, record),
    }
    return render(request, "patients/patient_detail.html", context)


def _apply_errors(form, error: ValidationError) -> None:
    """Attach a service's field-keyed errors to the form's fields."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    clinics = writable_clinics(request.user)
    if not clinics.exists():
        raise PermissionDenied("Only a clinic's clinicians add patients.")
    form = PatientForm(request.POST or None, clinics=clinics)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        clinic = data.pop("clinic")
        try:
            patient = services.create_patient(clinic, **data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Patient {patient.code} added.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "creating": True})


@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, patient_id) -> HttpResponse:
    patient = get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id, write=True)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_patient(patient, **form.cleaned_data)
        except ValidationError as error:
            # The form mutated the instance in is_valid(); re-read before re-rendering.
            patient.refresh_from_db()
            _apply_errors(form, error)
        else:
            messages.success(request, f"Patient {patient.code} saved.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@require_safe
def patient_history(request: HttpRequest, patient_id) -> HttpResponse:
    """Who changed or opened this patient's record, newest first."""
    patient = get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id)
    entries = (
        LogEntry.objects.filter(additional_data__patient=str(patient.pk))
        .select_related("actor", "content_type")
        .order_by("-timestamp")
    )
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    return render(request, "patients/patient_history.html", {"patient": patient, "page": page})
