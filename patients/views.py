"""Patient pages: thin views over access, selectors and services."""

from __future__ import annotations

import datetime as dt
import hashlib
import functools
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
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_safe

from audit import selectors as audit_selectors
from audit.services import log_patients_shown
from clinic.access import can_write, clinics_for, get_for_user, writable_clinics
from clinic.links import linker
from clinical.ctcae import TERMS as CTCAE_TERMS
from patients import selectors, services
from patients.concurrency import (
    StaleEdit,
    carry_version,
    conflict,
    differences,
    form_conflict,
    form_texts,
    gone_page,
    last_change,
    take_version,
    text,
)
from patients.forms import (
    ClasiGrid,
    CourseEditForm,
    CourseStartForm,
    DoseStepForm,
    EventsForm,
    InterruptionForm,
    LabsForm,
    PatientForm,
    PatientSearchForm,
    ResumeForm,
    VisitForm,
    WithdrawForm,
)
from patients.models import Course, DoseStep, Interruption, LabTest, Patient, PregnancyResult, Visit
from patients.snapshot import record_for
from scoring import selectors as scoring_selectors
from scoring.safety import safety_options

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
    clinics = clinics_for(request.user)
    # Open flags, urgent safety items and today's treatments are kept per patient
    # (scoring.state): brought up to today for the user's clinics in one query, then
    # the filter is a subquery of the stored state, whatever the clinic's size.
    clinic_ids = scoring_selectors.user_clinics_fresh(request.user)
    patients = selectors.search_patients(
        request.user,
        clinic_ids=clinic_ids,
        q=filters.get("q") or "",
        on_lenalidomide=bool(filters.get("on_lenalidomide")),
        subtype=filters.get("subtype") or "",
        only_ids=(scoring_selectors.patients_needing_attention(request.user, clinic_ids)
                  if filters.get("open_flag") else None),
    )
    # Only the columns the list shows (a patient's notes and history stay unread).
    patients = patients.only("code", "name", "clinic_id", "clinic__name")
    paginator = Paginator(patients, PAGE_SIZE)
    if filters.get("open_flag") and not any(filters.get(k) for k in ("q", "on_lenalidomide", "subtype")):
        # "Needs attention" alone: the number is that of the clinics' open stored states
        # (a state carries its patient's clinic), counted from the open-worklist index
        # alone instead of joining every patient of the clinic.
        paginator.count = scoring_selectors.open_states(clinic_ids).count()
    page = paginator.get_page(request.GET.get("page"))
    # Open flags of this page's patients only: fixed queries, CPU bounded by the page size.
    page.object_list = list(page.object_list)  # evaluated once, shared with the template
    # This page's open worklist items and today's treatments, from the stored state
    # (scoring.state: computed by the same rules as the patient page, made fresh
    # above): one query, no record read, whatever the clinic's size.
    states = scoring_selectors.states_of(page.object_list, fresh=True)
    patient_url = linker("patients:detail")
    for patient in page.object_list:
        state = states.get(patient.pk)
        items = scoring_selectors.stored_items(state)
        # The most urgent open item is the row's badge; "+N" counts the others.
        patient.first_item, patient.more_items = (items[0] if items else None), max(len(items) - 1, 0)
        patient.treatments = state.treatments if state is not None else []
        patient.url = patient_url(patient.pk)
    # Codes and names on screen are patient data: the list (and each search) is audited.
    log_patients_shown("patient search" if form.is_bound else "patient list", page.object_list,
                       user=request.user)
    context = {
        "page": page,
        "clinics": clinics,
        "many_clinics": len(clinics) > 1,  # the clinic column is shown then
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


# The patient page's table shows the latest visits; the whole history is one
# click away (patients:visits). The chart and its table keep every visit.
LATEST_VISITS = 20
PAGE_CACHE_SECONDS = 24 * 3600  # the key holds the day anyway


def _page_analysis(patient: Patient, today: dt.date, writer: bool) -> dict:
    """What the patient page shows of the record, rendered: the analysis (flags,
    safety, the chart and its table, the course summary), the courses, the latest
    visits and the labs, cached as HTML (Django's cache, local memory by default);
    for a clinician (`writer`: links and forms) or a viewer, each rendered and
    cached when that role first asks (a first view renders one variant, not both).

    The key holds everything the output depends on: the record's stamp
    (patients.selectors.record_stamp: one query that changes with any write
    to the record, acknowledgements included), today (flags and monitoring
    are relative to it) and the site's flare thresholds. The stamp is read
    BEFORE the record, so what is cached is never older than its key."""
    from django.core.cache import cache
    from django.template.loader import render_to_string
    from django.utils.html import json_script

    stamp = selectors.record_stamp(patient.pk)
    limits = scoring_selectors.thresholds()
    # The safety settings too (pregnancy programme, clearance limit): the page's
    # safety items depend on them as the flags depend on the thresholds.
    digest = hashlib.sha256(repr((stamp, limits, safety_options())).encode()).hexdigest()
    key = f"patient-page:{patient.pk}:{'writer' if writer else 'viewer'}:{today.isoformat()}:{digest}"
    # Whether the page has photographs to show beside the record: the stamp counted
    # them, so a patient without any needs no query for the latest thumbnails.
    photographs = {"has_photographs": selectors.stamp_photographs(stamp) > 0}
    cached = cache.get(key)
    if cached is not None:
        return {**cached, **photographs}
    record = record_for(patient, lean=True)
    analysis = scoring_selectors.patient_analysis(patient, record)
    # The chart's text alternative: its numbers, one row per visit.
    rows = selectors.chart_rows(
        record, [fv.flag for fv in (*analysis["open_flags"], *analysis["acknowledged_flags"])],
        analysis["photo_marks"])
    visits = selectors.visit_rows(record)
    # What the page shows, not the whole record: kept as the HTML it renders to
    # (no 200-visit object graph to unpickle, no template to run again).
    figure = analysis["trend_figure"]
    analysis["trend_figure"] = bool(figure)
    latest = visits[-LATEST_VISITS:]
    analysis.update(
        trend_figure_html=json_script(figure, "trend-figure") if figure else "",
        chart_rows_html=(
            render_to_string(
                "scoring/_chart_rows.html",
                {"chart_rows": rows, "photo_marks": analysis["photo_marks"]},
            ) if rows else ""
        ),
    )

    def rendered(template: str, **context) -> str:
        # A clinician's variant holds forms (acknowledge a flag): their CSRF token is
        # a placeholder here, the request's own token replaces it on every view.
        return render_to_string(template, {**context, "patient": patient, "can_write": writer,
                                           "csrf_token": CSRF_PLACEHOLDER})

    # What the page shows of the record, as the HTML it renders to: rendered once per
    # record version and role, not on every view (a clinician's variant has the links
    # to correct the record, the <details> that open the course forms, the acknowledge forms).
    cached = {
        "has_courses": bool(record.courses),
        "trend_figure": analysis["trend_figure"],  # the page loads the chart's scripts then
        "analysis_html": rendered("scoring/_patient_analysis.html", **analysis),
        "courses_html": rendered("patients/_course_list.html", courses=record.courses),
        "visit_rows_html": render_to_string("patients/_visit_rows.html", {"visits": latest}),
        "latest_visits": len(latest),
        "visit_count": len(visits),
        # Every lab as entered, with its CTCAE grade (clasi.md 5.2, 5.5): no query.
        "labs_html": render_to_string("patients/_labs_table.html",
                                      {"record_labs": selectors.record_labs(record)}),
    }
    cache.set(key, cached, PAGE_CACHE_SECONDS)
    return {**cached, **photographs}


# What the cached HTML holds where a form's CSRF token goes (letters only: escaping
# leaves it as it is); never sent, each view puts its request's token there.
CSRF_PLACEHOLDER = "csrfPlaceholderOfTheCachedPatientPage"


def _with_csrf(request: HttpRequest, html: str) -> str:
    from django.middleware.csrf import get_token
    from django.utils.safestring import mark_safe

    if CSRF_PLACEHOLDER not in html:
        return html
    return mark_safe(html.replace(CSRF_PLACEHOLDER, get_token(request)))


@require_safe
def patient_detail(request: HttpRequest, patient_id) -> HttpResponse:
    # photo_consent (one-to-one) rides along: shown beside the recent photographs.
    patient = get_for_user(request.user, Patient.objects.select_related("clinic", "photo_consent"),
                           patient_id)
    # Opening a patient's record is itself audited (who looked, when).
    accessed.send(sender=Patient, instance=patient)
    writer = can_write(patient)
    today = timezone.localdate()
    shown = _page_analysis(patient, today, writer)
    context = {
        "patient": patient,
        "can_write": writer,
        "nav": "patients",
        # The course forms (dose, withdrawal, hold, resumption, a new course) are
        # rendered when a clinician opens one (htmx, `_inline_form`), not for every
        # course on every view; each <details> links to the form's own page too.
        # The start form is open, so rendered here, only while there is no course.
        "start_form": (
            _start_form(patient, today) if writer and not shown["has_courses"] else None
        ),
        # The visits table, the treatments; the trend chart, flags and course
        # summary (from the scoring app), cached on the record's stamp.
        **shown,
        "analysis_html": _with_csrf(request, shown["analysis_html"]),
    }
    return render(request, "patients/patient_detail.html", context)


@require_safe
def patient_visits(request: HttpRequest, patient_id) -> HttpResponse:
    """Every visit of the patient, the page's table in full."""
    patient = get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id)
    accessed.send(sender=Patient, instance=patient)
    record = record_for(patient, lean=True)
    context = {"patient": patient, "nav": "patients", "visits": selectors.visit_rows(record)}
    return render(request, "patients/patient_visits.html", context)


START_IDS = "id_start_%s"  # the inline start form's ids on the patient page


def _start_form(patient: Patient, today: dt.date) -> CourseStartForm:
    """The patient page's compact start form (its date defaults to today, as on its page)."""
    return CourseStartForm(auto_id=START_IDS, initial={"start": today, "mg": 5},
                           live_url=reverse("patients:course_start", args=[patient.pk]))


# -- the course forms opened on the patient page -------------------------------------


def _inline(request: HttpRequest) -> bool:
    """An htmx GET of a course form's compact version, for the <details> a clinician
    opened under a course on the patient page (`?inline=1`)."""
    return request.method == "GET" and bool(request.htmx) and request.GET.get("inline") == "1"


def _inline_ids(request: HttpRequest, kind: str, pk) -> str:
    """Each inline form gets its own ids (`id_dose_<course>_date`), so labels stay
    tied to their inputs when several are open on the page; its page keeps `id_%s`."""
    return f"id_{kind}_{pk}_%s" if _inline(request) else "id_%s"


def _read_version(request: HttpRequest, current: int) -> int:
    """The version the form carries: the course's current one, or for an inline
    form the one the patient page was read at (the page puts it in the form's
    URL), so a dose decided on a stale page is still refused as before."""
    if _inline(request):
        try:
            read = int(request.GET.get("version", ""))
        except ValueError:
            read = 0
        if read >= 1:
            return read
    return current


def _inline_form(request: HttpRequest, form, submit: str, *, primary: bool = False) -> HttpResponse:
    response = render(request, "patients/_inline_course_form.html", {
        "form": form, "action": request.path, "submit": submit, "primary": primary,
    })
    # The same URL without htmx is the form's own page: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


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
@gone_page(Patient, "patient_id")
def patient_edit(request: HttpRequest, patient_id) -> HttpResponse:
    patient = get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id, write=True)
    form = carry_version(PatientForm(request.POST or None, instance=patient), patient.version)
    stale, status = None, 200
    if request.method == "GET":
        accessed.send(sender=Patient, instance=patient)  # the form shows the record
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version = data.pop("version")
        try:
            saved = services.update_patient(patient, version=version, **data)
        except StaleEdit as error:
            # Refused: the form keeps what was typed, the saved values go beside it.
            patient = error.current
            current = {name: getattr(patient, name, None) for name in form.fields}
            stale, status = form_conflict(form, error, "this patient", current), 409
        except ValidationError as error:
            # The form mutated the instance in is_valid(); re-read before re-rendering.
            patient.refresh_from_db()
            _apply_errors(form, error)
        else:
            messages.success(request, f"Patient {saved.code} saved.")
            return redirect("patients:detail", patient_id=saved.pk)
    return render(request, "patients/patient_form.html",
                  {"form": form, "patient": patient, "conflict": stale}, status=status)


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

    def __init__(self, request: HttpRequest, patient: Patient, visit: Visit | None = None,
                 copy: tuple[Visit, object] | None = None) -> None:
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
            # "Start from the last visit": its examination, marked as copied.
            self.grid = (ClasiGrid(initial=copy[1], copied_from=copy[0].date) if copy
                         else ClasiGrid())
            self.labs = LabsForm()
            self.events = EventsForm()
        else:
            exam = selectors.stored_exam(visit)
            self.visit = VisitForm(initial={"date": visit.date, "clinician": visit.clinician,
                                            "weight_kg": visit.weight_kg, "note": visit.note},
                                   clinicians=clinicians)
            self.grid = ClasiGrid(initial=exam, skipped=exam is None)
            events = list(visit.adverse_events.all())
            self.labs = LabsForm(initial=LabsForm.initial_from(visit.labs.all()))
            self.events = EventsForm(initial=EventsForm.initial_from(events), rows=len(events) + 2)
        if visit is not None:
            # An edit carries the version it was read at (patients/concurrency.py).
            carry_version(self.visit, visit.version)

    def is_valid(self) -> bool:
        results = [self.visit.is_valid(), self.grid.is_valid(), self.labs.is_valid(),
                   self.events.is_valid()]
        return all(results)

    def service_arguments(self) -> dict:
        data = self.visit.cleaned_data
        versioned = {"version": data["version"]} if "version" in data else {}
        return {
            **versioned,
            "date": data["date"],
            "clinician": data.get("clinician"),
            "note": data.get("note") or "",
            "weight_kg": data.get("weight_kg"),
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
    from clinical.instruments.exam import Exam

    if forms.grid.data is not None:
        exam = None if forms.grid.skipped else forms.grid.exam
    elif forms.grid.skipped:
        exam = None
    else:
        exam = selectors.stored_exam(visit) if visit is not None else Exam.empty()
    # A new visit's untouched grid announces no score and no response yet, so the
    # change from baseline (the patient's timeline: four queries) is not computed.
    awaiting = visit is None and not forms.grid.skipped and forms.grid.is_blank
    return {
        **selectors.score_panel(patient, day=None if awaiting else forms.day, exam=exam, visit=visit),
        "grid": forms.grid,
        "awaiting_entry": awaiting,
    }


def _visit_texts(forms: VisitForms, args: dict) -> dict[str, tuple[str, str]]:
    """{key: (label, words)} of a visit as the service takes it, for the side-by-side
    of a refused stale save: the same words for the saved visit and the typed one."""
    out = form_texts(forms.visit, args, ["date", "clinician", "note"])
    exam = args["exam"]
    out["clasi"] = ("CLASI examination", "recorded" if exam is not None else "not done")
    grid = ClasiGrid(initial=exam)
    for cell in grid._cells.values():
        value = cell.value or "0"
        words = cell.item.label_of(int(value)) if value.isdigit() and int(value) in cell.item.values else ""
        shown = f"{value} ({words})" if words else value
        out[cell.name] = (cell.label, shown if exam is not None else "—")
    if exam is not None:
        out["clasi-flag"] = (grid.modifier.label, text(None, grid.flag_checked))
    labs = {lab.test: lab for lab in args["labs"]}
    for test in LabTest:
        lab = labs.get(test.value)
        if lab is None:
            words = "—"
        elif test == LabTest.PREGNANCY:
            words = PregnancyResult(lab.result).label
        else:
            words = f"{text(None, lab.value)} {lab.unit}".strip()
        out[f"lab-{test.value}"] = (test.label, words)
    events = sorted(
        (f"Other: {e.term_other}" if e.term == "other" else e.term.strip(), e.grade,
         "".join(f", {x}" for x in (e.attribution, e.action) if x))
        for e in args["adverse_events"]
    )
    out["events"] = ("Adverse events",
                     "\n".join(f"{term} (grade {grade}{more})" for term, grade, more in events) or "—")
    return out


def _visit_conflict(forms: VisitForms, stale: StaleEdit):
    """The saved visit beside the typed one, field by field; the form takes the
    current version so that saving again replaces the other person's change."""
    from patients.services import AdverseEventInput, LabInput

    current = stale.current
    saved = {
        "date": current.date,
        "clinician": current.clinician,
        "note": current.note,
        "exam": selectors.stored_exam(current),
        "labs": [LabInput(test=lab.test, value=lab.value, result=lab.result, unit=lab.unit)
                 for lab in current.labs.all()],
        "adverse_events": [AdverseEventInput(term=e.term, grade=e.grade, term_other=e.term_other,
                                             attribution=e.attribution, action=e.action)
                           for e in current.adverse_events.all()],
    }
    theirs, yours = _visit_texts(forms, saved), _visit_texts(forms, forms.service_arguments())
    if theirs["clasi"] != yours["clasi"]:
        # One side has no examination: one row says so, not one row per cell.
        theirs, yours = ({k: v for k, v in side.items() if not k.startswith("clasi-")}
                         for side in (theirs, yours))
    rows = differences(theirs, yours)
    take_version(forms.visit, current.version)
    return conflict(stale, "this visit", rows)


def _newer_than_read(visit: Visit | None, forms: VisitForms):
    """Who saved the visit since this form was read (the live preview says so
    before Save is pressed); None while the form is current. No query then."""
    read = getattr(forms.visit, "cleaned_data", {}).get("version")
    if visit is None or read is None or read == visit.version:
        return None
    return last_change(visit)


@functools.cache
def ctcae_options() -> SafeString:
    """The 837 CTCAE terms as the term field's <datalist> options, escaped once per
    process: the list never changes while the server runs, and a template loop over
    it took a quarter of the visit form's time."""
    return format_html_join("", '<option value="{}"></option>', ((term,) for term in CTCAE_TERMS))


def _render_visit_form(request, patient: Patient, forms: VisitForms, visit: Visit | None,
                       status: int = 200, stale=None,
                       previous: Visit | None = None) -> HttpResponse:
    context = {
        "patient": patient,
        "visit": visit,
        "conflict": stale,
        "forms": forms,
        "grid": forms.grid,
        "previous_visit": previous,
        "ctcae_options": ctcae_options(),
        "error_links": _error_links(forms) if request.method == "POST" else [],
        "nav": "patients",
        **_panel(patient, forms, visit),
    }
    return render(request, "patients/visit_form.html", context, status=status)


def _visit_form_view(
    request: HttpRequest, patient: Patient, visit: Visit | None, save: Callable[[dict], Visit]
) -> HttpResponse:
    """Log or edit a visit: one transaction through the service, or the form
    again (400) with every message next to its field and nothing saved."""
    previous = copy = None
    if visit is None and request.method == "GET":
        found = selectors.previous_examination(patient)
        if found is not None:
            previous = found[0]
            if request.GET.get("from") == "last":
                copy = found
    forms = VisitForms(request, patient, visit, copy=copy)
    if request.method == "POST":
        if forms.is_valid():
            try:
                saved = save(forms.service_arguments())
            except StaleEdit as error:
                # Refused, nothing written: what was typed stays, the saved visit beside it.
                stale = _visit_conflict(forms, error)
                return _render_visit_form(request, patient, forms, error.current, status=409,
                                          stale=stale)
            except ValidationError as error:
                forms.apply_service_errors(error)
            else:
                messages.success(request, f"Visit of {saved.date:%Y-%m-%d} saved.")
                return redirect("patients:visit", visit_id=saved.pk)
        return _render_visit_form(request, patient, forms, visit, status=400)
    # The form shows the record (the visit, or the patient's baseline): audited.
    accessed.send(sender=Visit if visit else Patient, instance=visit or patient)
    return _render_visit_form(request, patient, forms, visit, previous=previous)


def _error_links(forms: VisitForms) -> list[tuple[str, str, str]]:
    """(field id, label, message) of every error on the visit form, in page
    order, for the banner's links: the visit fields, the CLASI cells, labs, events."""
    links = []
    for form in (forms.visit,):
        for name, errors in form.errors.items():
            if name in form.fields:
                links += [(form[name].auto_id, form[name].label, e) for e in errors]
    links += [(cell.id, cell.label, cell.error) for cell in forms.grid.cell_errors()]
    if forms.grid.non_field_errors and forms.grid.skipped:
        links += [(f"id_{forms.grid.skip_name}", "No CLASI examination", e)
                  for e in forms.grid.non_field_errors]
    for form in (forms.labs, forms.events):
        for name, errors in form.errors.items():
            if name in form.fields:
                links += [(form[name].auto_id, form[name].label, e) for e in errors]
    return links


@require_http_methods(["GET", "POST"])
def visit_create(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _patient_for(request, patient_id, write=True)
    return _visit_form_view(
        request, patient, None, lambda data: services.record_visit(patient, **data)
    )


@require_http_methods(["GET", "POST"])
@gone_page(Visit, "visit_id")
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
               "newer": _newer_than_read(visit, forms), **_panel(patient, forms, visit)}
    return render(request, "patients/visit_form.html#score_panel", context)


@require_safe
def visit_detail(request: HttpRequest, visit_id) -> HttpResponse:
    visit = selectors.visit_for_page(request.user, visit_id)
    # A visit page shows the patient's record too: its opening is audited.
    accessed.send(sender=Visit, instance=visit)
    patient = visit.patient
    exam = selectors.stored_exam(visit)
    # The flags and the change from baseline read the same timeline: read once.
    timeline = scoring_selectors.timeline_for(patient)
    context = {
        "patient": patient,
        "visit": visit,
        "grid": ClasiGrid(initial=exam, skipped=exam is None),
        "labs": selectors.lab_lines(visit.labs.all()),
        "events": list(visit.adverse_events.all()),
        "visit_flags": selectors.flags_of_visit(visit, timeline),
        "can_write": can_write(visit),
        "nav": "patients",
        **selectors.score_panel(patient, day=visit.date, exam=exam, visit=visit, timeline=timeline),
    }
    return render(request, "patients/visit_detail.html", context)


@require_http_methods(["GET", "POST"])
@gone_page(Visit, "visit_id")
def visit_delete(request: HttpRequest, visit_id) -> HttpResponse:
    visit = selectors.visit_for_page(request.user, visit_id, write=True)
    if request.method == "POST":
        services.delete_visit(visit)
        messages.success(request, f"Visit of {visit.date:%Y-%m-%d} deleted.")
        return redirect("patients:detail", patient_id=visit.patient_id)
    labs = list(visit.labs.all())
    events = list(visit.adverse_events.all())
    children = []
    if hasattr(visit, "assessment"):
        children.append(f"its CLASI examination (CLASI-A {visit.assessment.activity}, "
                        f"CLASI-D {visit.assessment.damage})")
    if labs:
        children.append(f"{len(labs)} lab result{'s' if len(labs) != 1 else ''}: "
                        + ", ".join(lab.get_test_display() for lab in labs))
    if events:
        children.append(f"{len(events)} adverse event{'s' if len(events) != 1 else ''}: "
                        + ", ".join(f"{e.term_text} (grade {e.grade})" for e in events))
    return render(request, "patients/confirm_delete.html", {
        "patient": visit.patient, "what": f"the visit of {visit.date:%Y-%m-%d}",
        "children": children, "keeps": "The patient and the other visits stay.",
        "cancel_url": reverse("patients:visit", args=[visit.pk]), "nav": "patients",
    })


# -- courses and dose steps -----------------------------------------------------------


def _dose_text(step: DoseStep) -> str:
    """"5 mg daily", "2.5 mg alternate days", as the patient page words a dose."""
    often = {1: "daily", 2: "alternate days"}.get(step.every_days, f"every {step.every_days} days")
    return f"{step.mg.normalize():f} mg {often}"


def _course_for(request: HttpRequest, course_id) -> Course:
    return get_for_user(request.user, Course.objects.select_related("patient__clinic"), course_id,
                        write=True)


def _course_page(request, patient: Patient, form, *, title: str, submit: str,
                 course: Course | None = None, status: int = 200, stale=None) -> HttpResponse:
    return render(request, "patients/course_form.html", {
        "patient": patient, "course": course, "form": form, "title": title, "submit": submit,
        "nav": "patients", "conflict": stale,
    }, status=status)


def _saved_course_values(course: Course) -> dict:
    """A course's saved values under the names of every course form's fields: its
    dates and reason, and its latest dose step (what a dose form would change)."""
    latest = course.dose_steps.order_by("-date").first()
    return {
        "start": course.start, "end": course.end, "stop_reason": course.stop_reason,
        "date": latest and latest.date, "mg": latest and latest.mg,
        "every_days": latest and latest.every_days,
    }


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
            except StaleEdit as error:
                # Refused, nothing written: the typed values stay, the saved course beside them.
                stale = form_conflict(form, error, "this course", _saved_course_values(error.current))
                return _course_page(request, patient, form, title=title, submit=submit,
                                    course=error.current, status=409, stale=stale)
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
    if _inline(request):
        return _inline_form(request, form, submit)
    response = _course_page(request, patient, form, title=title, submit=submit, course=course)
    # The same URL with ?inline=1 answers the compact form to htmx: caches keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_http_methods(["GET", "POST"])
def course_start(request: HttpRequest, patient_id) -> HttpResponse:
    """Start a course of any registry drug.

    An htmx GET with `inline=1` answers the patient page's compact form (opened
    there on demand). Any other htmx GET (the drug select changed) answers only the form's fields,
    re-rendered for that drug (its usual frequencies first, its dose range)
    with what was typed kept; without JavaScript the full list is offered
    and the service checks the dose against the drug on submit.
    """
    patient = _patient_for(request, patient_id, write=True)
    if _inline(request):
        # "Start a course" opened on the patient page: the whole compact form.
        return _inline_form(request, _start_form(patient, timezone.localdate()), "Start course",
                            primary=True)
    if request.method == "GET" and request.htmx:
        inline = request.GET.get("ids") == "inline"
        # What was typed stays; the frequency starts at the new drug's usual one.
        typed = {k: v for k, v in request.GET.items()
                 if k in CourseStartForm.base_fields and k != "every_days"}
        form = CourseStartForm(auto_id=START_IDS if inline else "id_%s", initial=typed,
                               live_url=request.path)
        response = render(request, "patients/_form_fields.html", {"form": form, "compact": inline})
        patch_vary_headers(response, ["HX-Request"])
        return response
    form = CourseStartForm(request.POST or None,
                           initial={"start": timezone.localdate(), "mg": 5, "drug": "lenalidomide"},
                           live_url=request.path)

    def save(data: dict) -> str:
        course = services.start_course(patient, **data)
        return f"{course.drug_label} course started on {data['start']:%Y-%m-%d}."

    response = _course_form_view(request, form, patient=patient, save=save,
                                 title="Start a course", submit="Start course")
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_http_methods(["GET", "POST"])
@gone_page(Course, "course_id")
def dose_step_add(request: HttpRequest, course_id) -> HttpResponse:
    course = _course_for(request, course_id)
    form = carry_version(DoseStepForm(request.POST or None, initial={"date": timezone.localdate()},
                                      drug=course.drug, auto_id=_inline_ids(request, "dose", course.id)),
                         _read_version(request, course.version))

    def save(data: dict) -> str:
        return f"Dose step saved: {services.add_dose_step(course, **data)}."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course, submit="Save dose step",
        title=f"Change the dose of {course.drug_label} started {course.start:%Y-%m-%d}",
    )


@require_http_methods(["GET", "POST"])
@gone_page(DoseStep, "step_id")
def dose_step_delete(request: HttpRequest, step_id) -> HttpResponse:
    step = get_for_user(request.user, DoseStep.objects.select_related("course__patient"), step_id,
                        write=True)
    if request.method != "POST":
        # "remove" asks first: the step, and what the course's dose becomes.
        earlier = step.course.dose_steps.filter(date__lt=step.date).order_by("-date").first()
        return render(request, "patients/confirm_delete.html", {
            "patient": step.course.patient,
            "what": f"the dose step of {step.date:%Y-%m-%d} ({_dose_text(step)})",
            "children": [],
            "keeps": (f"From {step.date:%Y-%m-%d} the dose is again {_dose_text(earlier)}, "
                      "as before this step." if earlier else ""),
            "action_label": "Remove", "nav": "patients",
            "cancel_url": reverse("patients:detail", args=[step.course.patient_id]),
        })
    try:
        services.remove_dose_step(step)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Dose step of {step.date:%Y-%m-%d} removed.")
    return redirect("patients:detail", patient_id=step.course.patient_id)


@require_http_methods(["GET", "POST"])
@gone_page(DoseStep, "step_id")
def dose_step_edit(request: HttpRequest, step_id) -> HttpResponse:
    """Correct a dose step, the starting dose included (its date stays the course start)."""
    step = get_for_user(request.user, DoseStep.objects.select_related("course__patient__clinic"),
                        step_id, write=True)
    course = step.course
    first = step.date == course.start
    form = carry_version(
        DoseStepForm(request.POST or None, drug=course.drug, first=first, initial={
            "date": step.date, "mg": f"{step.mg.normalize():f}", "every_days": step.every_days}),
        course.version,
    )

    def save(data: dict) -> str:
        saved = services.update_dose_step(step, **data)
        return f"Dose step corrected: {_dose_text(saved)} from {saved.date:%Y-%m-%d}."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course, submit="Save correction",
        title=(f"Correct the {'starting dose' if first else 'dose step of ' + step.date.isoformat()}"
               f" of {course.drug_label} started {course.start:%Y-%m-%d}"),
    )


@require_http_methods(["GET", "POST"])
@gone_page(Course, "course_id")
def course_withdraw(request: HttpRequest, course_id) -> HttpResponse:
    course = _course_for(request, course_id)
    form = carry_version(WithdrawForm(request.POST or None, initial={"end": timezone.localdate()},
                                      auto_id=_inline_ids(request, "withdraw", course.id)),
                         _read_version(request, course.version))

    def save(data: dict) -> str:
        services.withdraw(course, **data)
        return f"Withdrawal on {data['end']:%Y-%m-%d} recorded."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course,
        submit="Record withdrawal",
        title=f"Record the withdrawal of {course.drug_label} started {course.start:%Y-%m-%d}",
    )


@require_http_methods(["GET", "POST"])
@gone_page(Course, "course_id")
def course_edit(request: HttpRequest, course_id) -> HttpResponse:
    course = _course_for(request, course_id)
    initial = {"start": course.start, "end": course.end, "stop_reason": course.stop_reason}
    form = carry_version(CourseEditForm(request.POST or None, initial=initial), course.version)

    def save(data: dict) -> str:
        services.update_course(course, **data)
        return "Course saved."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course, submit="Save course",
        title=f"Correct the {course.drug_label} course started {course.start:%Y-%m-%d}",
    )


@require_http_methods(["GET", "POST"])
@gone_page(Course, "course_id")
def course_delete(request: HttpRequest, course_id) -> HttpResponse:
    course = _course_for(request, course_id)
    if request.method == "POST":
        services.delete_course(course)
        messages.success(request, f"Course started {course.start:%Y-%m-%d} deleted.")
        return redirect("patients:detail", patient_id=course.patient_id)
    steps = list(course.dose_steps.order_by("date"))
    children = [f"{len(steps)} dose step{'s' if len(steps) != 1 else ''}: "
                + "; ".join(f"{s.date:%Y-%m-%d} {_dose_text(s)}" for s in steps)] if steps else []
    if course.end:
        children.append(f"its withdrawal on {course.end:%Y-%m-%d}")
    return render(request, "patients/confirm_delete.html", {
        "patient": course.patient,
        "what": f"the {course.drug_label} course started {course.start:%Y-%m-%d}",
        "children": children,
        "keeps": "Visits stay; flags and the course summary are recomputed without this course.",
        "nav": "patients", "cancel_url": reverse("patients:detail", args=[course.patient_id]),
    })


# -- interruptions ----------------------------------------------------------------


def _interruption_for(request: HttpRequest, interruption_id) -> Interruption:
    return get_for_user(request.user,
                        Interruption.objects.select_related("course__patient__clinic"),
                        interruption_id, write=True)


@require_http_methods(["GET", "POST"])
@gone_page(Course, "course_id")
def interruption_add(request: HttpRequest, course_id) -> HttpResponse:
    """A hold within the course (e.g. for neutropenia), with its resumption if known."""
    course = _course_for(request, course_id)
    form = carry_version(InterruptionForm(request.POST or None, initial={"start": timezone.localdate()},
                                          auto_id=_inline_ids(request, "hold", course.id)),
                         _read_version(request, course.version))

    def save(data: dict) -> str:
        hold = services.add_interruption(course, **data)
        return f"{course.drug_label.capitalize()}: {hold} recorded."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course,
        submit="Record interruption",
        title=f"Interrupt {course.drug_label} started {course.start:%Y-%m-%d}",
    )


@require_http_methods(["GET", "POST"])
@gone_page(Interruption, "interruption_id")
def interruption_edit(request: HttpRequest, interruption_id) -> HttpResponse:
    hold = _interruption_for(request, interruption_id)
    course = hold.course
    form = carry_version(InterruptionForm(request.POST or None, initial={
        "start": hold.start, "end": hold.end, "reason": hold.reason}), course.version)

    def save(data: dict) -> str:
        services.update_interruption(hold, **data)
        return "Interruption saved."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course, submit="Save interruption",
        title=f"Correct the interruption of {course.drug_label} from {hold.start:%Y-%m-%d}",
    )


@require_http_methods(["GET", "POST"])
@gone_page(Interruption, "interruption_id")
def interruption_resume(request: HttpRequest, interruption_id) -> HttpResponse:
    """The drug resumed: the hold still open ends."""
    hold = _interruption_for(request, interruption_id)
    course = hold.course
    form = carry_version(ResumeForm(request.POST or None, initial={"end": timezone.localdate()},
                                    auto_id=_inline_ids(request, "resume", hold.id)),
                         _read_version(request, course.version))

    def save(data: dict) -> str:
        services.end_interruption(hold, **data)
        return f"{course.drug_label.capitalize()} resumed on {data['end']:%Y-%m-%d}."

    return _course_form_view(
        request, form, patient=course.patient, save=save, course=course, submit="Record resumption",
        title=f"Resume {course.drug_label} held since {hold.start:%Y-%m-%d}",
    )


@require_http_methods(["GET", "POST"])
@gone_page(Interruption, "interruption_id")
def interruption_delete(request: HttpRequest, interruption_id) -> HttpResponse:
    hold = _interruption_for(request, interruption_id)
    course = hold.course
    if request.method == "POST":
        services.remove_interruption(hold)
        messages.success(request, f"Interruption from {hold.start:%Y-%m-%d} deleted.")
        return redirect("patients:detail", patient_id=course.patient_id)
    return render(request, "patients/confirm_delete.html", {
        "patient": course.patient,
        "what": f"the interruption of {course.drug_label} from {hold.start:%Y-%m-%d}",
        "detail": "The course then reads as taken through those days.",
        "cancel_url": reverse("patients:detail", args=[course.patient_id]), "nav": "patients",
    })
