"""Patient pages: thin views over access, selectors and services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from auditlog.signals import accessed
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_safe

from audit import selectors as audit_selectors
from audit.services import log_patients_shown
from clinic.access import can_write, clinics_for, get_for_user, writable_clinics
from patients import selectors, services
from patients.forms import (
    ClasiGrid,
    CourseEditForm,
    CourseStartForm,
    DoseStepForm,
    EventsForm,
    LabsForm,
    PatientForm,
    PatientSearchForm,
    VisitForm,
    WithdrawForm,
)
from patients.models import Course, DoseStep, Patient, Visit
from scoring import selectors as scoring_selectors

PAGE_SIZE = 50


@require_safe
def patient_list(request: HttpRequest) -> HttpResponse:
    """The clinic's patients, found by code or name as one types.

    An htmx request (the search box) gets only the results partial; the
    same URL without htmx is the plain GET form's full page, so the list
    works without JavaScript and a pushed URL reloads to the same results.
    """
    form = PatientSearchForm(request.GET or None)
    form.is_valid()  # fields with bad values drop out of cleaned_data: ignored, not errors
    filters = getattr(form, "cleaned_data", {})
    patients = selectors.search_patients(
        request.user,
        q=filters.get("q") or "",
        on_lenalidomide=bool(filters.get("on_lenalidomide")),
        subtype=filters.get("subtype") or "",
        # Flags are computed from the record, not stored: ask the scoring app
        # only when the filter is on (fixed queries, CPU grows with patients).
        only_ids=(scoring_selectors.patients_with_open_flags(request.user)
                  if filters.get("open_flag") else None),
    )
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    # Open flags of this page's patients only: fixed queries, CPU bounded by the page size.
    page.object_list = list(page.object_list)  # evaluated once, shared with the template
    open_flags = scoring_selectors.open_flags_for(page.object_list)
    for patient in page.object_list:
        patient.open_flags = open_flags.get(patient.pk, [])
    # Codes and names on screen are patient data: the list (and each search) is audited.
    log_patients_shown("patient search" if form.is_bound else "patient list", page.object_list,
                       user=request.user)
    clinics = clinics_for(request.user)
    context = {
        "page": page,
        "clinics": clinics,
        "can_add": any(c.can_write for c in clinics),
        "form": form,
        "filtered": any(filters.get(k) for k in ("q", "on_lenalidomide", "subtype", "open_flag")),
        "nav": "patients",
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "patients/patient_list.html#results" if partial else "patients/patient_list.html"
    response = render(request, template, context)
    # The same URL answers a partial or a page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_safe
def patient_detail(request: HttpRequest, patient_id) -> HttpResponse:
    patient = get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id)
    # Opening a patient's record is itself audited (who looked, when).
    accessed.send(sender=Patient, instance=patient)
    record = selectors.patient_record(patient)
    writer = can_write(patient)
    today = timezone.localdate()
    context = {
        "patient": patient,
        "can_write": writer,
        "nav": "patients",
        # Compact course forms under each course (clinicians only); each form
        # gets its own ids so labels stay tied to their inputs.
        # Dates default to today, as on the forms' own pages.
        "start_form": (
            CourseStartForm(auto_id="id_start_%s", initial={"start": today, "mg": 5})
            if writer else None
        ),
        "course_forms": {
            course.pk: {
                "dose": DoseStepForm(auto_id=f"id_dose_{course.pk}_%s", initial={"date": today}),
                "withdraw": WithdrawForm(
                    auto_id=f"id_withdraw_{course.pk}_%s", initial={"end": today}
                ),
            }
            for course in record["courses"]
            if writer and course.end is None
        },
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
    if request.method == "GET":
        accessed.send(sender=Patient, instance=patient)  # the form shows the record
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


@require_http_methods(["GET", "POST"])
def patient_erase(request: HttpRequest, patient_id) -> HttpResponse:
    """Erase a patient's record (clinicians), confirmed by typing the code."""
    patient = _patient_for(request, patient_id, write=True)
    error = ""
    if request.method == "POST":
        try:
            erased = services.erase_patient(patient, typed_code=request.POST.get("typed_code", ""))
        except ValidationError as caught:
            error = " ".join(caught.messages)
        else:
            messages.success(request, f"Patient {patient.code} erased ({erased['visits']} visits, "
                                      f"{erased['courses']} courses); the audit keeps the event.")
            return redirect("patients:list")
    return render(request, "patients/confirm_erase.html",
                  {"patient": patient, "error": error, "nav": "patients"}, status=400 if error else 200)


@require_safe
def patient_history(request: HttpRequest, patient_id) -> HttpResponse:
    """Who changed or viewed this patient's record: changes newest first,
    views folded per person (audit.selectors)."""
    patient = get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id)
    accessed.send(sender=Patient, instance=patient)
    page = Paginator(audit_selectors.changes(patient.pk), 100).get_page(request.GET.get("page"))
    entries = list(page)
    users = audit_selectors.user_names(entries)
    rows = [(entry, audit_selectors.change_rows(entry, users)) for entry in entries]
    return render(request, "patients/patient_history.html", {
        "patient": patient, "page": page, "rows": rows, "nav": "patients",
        "readers": audit_selectors.readers(patient.pk),
    })


# -- visits ----------------------------------------------------------------------


def _patient_for(request: HttpRequest, patient_id, *, write: bool = False) -> Patient:
    return get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id, write=write)


class VisitForms:
    """The four parts of the visit form, bound or not, validated together."""

    def __init__(self, request: HttpRequest, patient: Patient, visit: Visit | None = None) -> None:
        clinicians = selectors.clinicians_of(patient.clinic)
        data = request.POST if request.method == "POST" else None
        if data is not None:
            self.visit = VisitForm(data, clinicians=clinicians)
            self.grid = ClasiGrid(data)
            self.labs = LabsForm(data)
            self.events = EventsForm(data)
        elif visit is None:
            me = request.user if clinicians.filter(pk=request.user.pk).exists() else None
            self.visit = VisitForm(initial={"date": timezone.localdate(), "clinician": me},
                                   clinicians=clinicians)
            self.grid = ClasiGrid()
            self.labs = LabsForm()
            self.events = EventsForm()
        else:
            exam = selectors.stored_exam(visit)
            self.visit = VisitForm(initial={"date": visit.date, "clinician": visit.clinician,
                                            "note": visit.note}, clinicians=clinicians)
            self.grid = ClasiGrid(initial=exam, skipped=exam is None)
            events = list(visit.adverse_events.all())
            self.labs = LabsForm(initial=LabsForm.initial_from(visit.labs.all()))
            self.events = EventsForm(initial=EventsForm.initial_from(events), rows=len(events) + 2)

    def is_valid(self) -> bool:
        results = [self.visit.is_valid(), self.grid.is_valid(), self.labs.is_valid(),
                   self.events.is_valid()]
        return all(results)

    def service_arguments(self) -> dict:
        data = self.visit.cleaned_data
        return {
            "date": data["date"],
            "clinician": data.get("clinician"),
            "note": data.get("note") or "",
            "exam": None if self.grid.skipped else self.grid.exam,
            "labs": self.labs.lab_inputs(),
            "adverse_events": self.events.event_inputs(),
        }

    def apply_service_errors(self, error: ValidationError) -> None:
        # The service names the visit's own fields; lab/event paths (already
        # checked by the forms) fall back to the top of the form.
        _apply_errors(self.visit, error)

    @property
    def day(self) -> dt.date | None:
        """The visit date the baseline comparison uses (None while invalid)."""
        if self.visit.is_bound:
            return getattr(self.visit, "cleaned_data", {}).get("date")
        return self.visit.initial.get("date")


def _panel(patient: Patient, forms: VisitForms, visit: Visit | None) -> dict:
    from scoring.clasi import Exam

    if forms.grid.data is not None:
        exam = None if forms.grid.skipped else forms.grid.exam
    elif forms.grid.skipped:
        exam = None
    else:
        exam = selectors.stored_exam(visit) if visit is not None else Exam.empty()
    return {
        **selectors.score_panel(patient, day=forms.day, exam=exam, visit=visit),
        "grid": forms.grid,
    }


def _render_visit_form(request, patient: Patient, forms: VisitForms, visit: Visit | None,
                       status: int = 200) -> HttpResponse:
    context = {
        "patient": patient,
        "visit": visit,
        "forms": forms,
        "grid": forms.grid,
        "nav": "patients",
        **_panel(patient, forms, visit),
    }
    return render(request, "patients/visit_form.html", context, status=status)


def _visit_form_view(
    request: HttpRequest, patient: Patient, visit: Visit | None, save: Callable[[dict], Visit]
) -> HttpResponse:
    """Log or edit a visit: one transaction through the service, or the form
    again (400) with every message next to its field and nothing saved."""
    forms = VisitForms(request, patient, visit)
    if request.method == "POST":
        if forms.is_valid():
            try:
                saved = save(forms.service_arguments())
            except ValidationError as error:
                forms.apply_service_errors(error)
            else:
                messages.success(request, f"Visit of {saved.date:%Y-%m-%d} saved.")
                return redirect("patients:visit", visit_id=saved.pk)
        return _render_visit_form(request, patient, forms, visit, status=400)
    # The form shows the record (the visit, or the patient's baseline): audited.
    accessed.send(sender=Visit if visit else Patient, instance=visit or patient)
    return _render_visit_form(request, patient, forms, visit)


@require_http_methods(["GET", "POST"])
def visit_create(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _patient_for(request, patient_id, write=True)
    return _visit_form_view(
        request, patient, None, lambda data: services.record_visit(patient, **data)
    )


@require_http_methods(["GET", "POST"])
def visit_edit(request: HttpRequest, visit_id) -> HttpResponse:
    visit = selectors.visit_for_page(request.user, visit_id, write=True)
    return _visit_form_view(
        request, visit.patient, visit, lambda data: services.update_visit(visit, **data)
    )


@require_http_methods(["GET", "POST"])
def visit_preview(request: HttpRequest, patient_id=None, visit_id=None) -> HttpResponse:
    """The score panel and body map for what the form holds right now.

    Scores on the server (the only place that scores) and returns only the
    panel, never the inputs, so nothing typed is overwritten and focus stays.
    """
    visit = None
    if visit_id is not None:
        visit = selectors.visit_for_page(request.user, visit_id, write=True)
        patient = visit.patient
    else:
        patient = _patient_for(request, patient_id, write=True)
    if request.method != "POST":
        # Checked after access, so a URL naming another clinic's record is a 404 either way.
        return HttpResponseNotAllowed(["POST"])
    forms = VisitForms(request, patient, visit)
    forms.visit.is_valid()
    forms.grid.is_valid()
    context = {"patient": patient, "visit": visit, "grid": forms.grid,
               **_panel(patient, forms, visit)}
    return render(request, "patients/visit_form.html#score_panel", context)


@require_safe
def visit_detail(request: HttpRequest, visit_id) -> HttpResponse:
    visit = selectors.visit_for_page(request.user, visit_id)
    # A visit page shows the patient's record too: its opening is audited.
    accessed.send(sender=Visit, instance=visit)
    patient = visit.patient
    exam = selectors.stored_exam(visit)
    context = {
        "patient": patient,
        "visit": visit,
        "grid": ClasiGrid(initial=exam, skipped=exam is None),
        "labs": list(visit.labs.all()),
        "events": list(visit.adverse_events.all()),
        "can_write": can_write(visit),
        "nav": "patients",
        **selectors.score_panel(patient, day=visit.date, exam=exam, visit=visit),
    }
    return render(request, "patients/visit_detail.html", context)


@require_http_methods(["GET", "POST"])
def visit_delete(request: HttpRequest, visit_id) -> HttpResponse:
    visit = selectors.visit_for_page(request.user, visit_id, write=True)
    if request.method == "POST":
        services.delete_visit(visit)
        messages.success(request, f"Visit of {visit.date:%Y-%m-%d} deleted.")
        return redirect("patients:detail", patient_id=visit.patient_id)
    return render(request, "patients/confirm_delete.html", {
        "patient": visit.patient, "what": f"the visit of {visit.date:%Y-%m-%d}",
        "detail": "Its CLASI examination, labs and adverse events are deleted with it.",
        "cancel_url": reverse("patients:visit", args=[visit.pk]), "nav": "patients",
    })


# -- courses and dose steps -----------------------------------------------------------


def _course_for(request: HttpRequest, course_id) -> Course:
    return get_for_user(request.user, Course.objects.select_related("patient__clinic"), course_id,
                        write=True)


def _course_page(request, patient: Patient, form, *, title: str, submit: str,
                 course: Course | None = None, status: int = 200) -> HttpResponse:
    return render(request, "patients/course_form.html", {
        "patient": patient, "course": course, "form": form, "title": title, "submit": submit,
        "nav": "patients",
    }, status=status)


def _course_form_view(
    request: HttpRequest,
    form,
    *,
    patient: Patient,
    save: Callable[[dict], str],
    title: str,
    submit: str,
    course: Course | None = None,
) -> HttpResponse:
    """The one flow of every course form: validate, call the course service,
    show its errors next to their fields (400) or redirect to the patient.

    `save` calls the service with the cleaned data and returns the success message.
    """
    if request.method == "POST":
        if form.is_valid():
            try:
                message = save(form.cleaned_data)
            except ValidationError as error:
                if course is not None:
                    # The transaction rolled back; the in-memory course may not have.
                    course.refresh_from_db()
                _apply_errors(form, error)
            else:
                messages.success(request, message)
                return redirect("patients:detail", patient_id=patient.pk)
        return _course_page(request, patient, form, title=title, submit=submit, course=course,
                            status=400)
    accessed.send(sender=Patient, instance=patient)  # the form shows the patient's course
    return _course_page(request, patient, form, title=title, submit=submit, course=course)


@require_http_methods(["GET", "POST"])
def course_start(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _patient_for(request, patient_id, write=True)
    form = CourseStartForm(request.POST or None, initial={"start": timezone.localdate(), "mg": 5})

    def save(data: dict) -> str:
        services.start_course(patient, **data)
        return f"Lenalidomide course started on {data['start']:%Y-%m-%d}."

    return _course_form_view(request, form, patient=patient, save=save,
                             title="Start a lenalidomide course", submit="Start course")


@require_http_methods(["GET", "POST"])
def dose_step_add(request: HttpRequest, course_id) -> HttpResponse:
    course = _course_for(request, course_id)
    form = DoseStepForm(request.POST or None, initial={"date": timezone.localdate()})

    def save(data: dict) -> str:
        return f"Dose step saved: {services.add_dose_step(course, **data)}."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course, submit="Save dose step",
        title=f"Change the dose of the course started {course.start:%Y-%m-%d}",
    )


@require_http_methods(["GET", "POST"])
def dose_step_delete(request: HttpRequest, step_id) -> HttpResponse:
    step = get_for_user(request.user, DoseStep.objects.select_related("course__patient"), step_id,
                        write=True)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.remove_dose_step(step)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Dose step of {step.date:%Y-%m-%d} removed.")
    return redirect("patients:detail", patient_id=step.course.patient_id)


@require_http_methods(["GET", "POST"])
def course_withdraw(request: HttpRequest, course_id) -> HttpResponse:
    course = _course_for(request, course_id)
    form = WithdrawForm(request.POST or None, initial={"end": timezone.localdate()})

    def save(data: dict) -> str:
        services.withdraw(course, **data)
        return f"Withdrawal on {data['end']:%Y-%m-%d} recorded."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course,
        submit="Record withdrawal",
        title=f"Record the withdrawal of the course started {course.start:%Y-%m-%d}",
    )


@require_http_methods(["GET", "POST"])
def course_edit(request: HttpRequest, course_id) -> HttpResponse:
    course = _course_for(request, course_id)
    initial = {"start": course.start, "end": course.end, "stop_reason": course.stop_reason}
    form = CourseEditForm(request.POST or None, initial=initial)

    def save(data: dict) -> str:
        services.update_course(course, **data)
        return "Course saved."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course, submit="Save course",
        title=f"Correct the course started {course.start:%Y-%m-%d}",
    )


@require_http_methods(["GET", "POST"])
def course_delete(request: HttpRequest, course_id) -> HttpResponse:
    course = _course_for(request, course_id)
    if request.method == "POST":
        services.delete_course(course)
        messages.success(request, f"Course started {course.start:%Y-%m-%d} deleted.")
        return redirect("patients:detail", patient_id=course.patient_id)
    return render(request, "patients/confirm_delete.html", {
        "patient": course.patient, "what": f"the lenalidomide course started {course.start:%Y-%m-%d}",
        "detail": "Its dose steps are deleted with it; visits stay.", "nav": "patients",
        "cancel_url": reverse("patients:detail", args=[course.patient_id]),
    })
