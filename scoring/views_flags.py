"""Pages of the worklist (flags and urgent safety items): thin views over clinic.access, scoring.selectors, scoring.services."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from audit.services import log_patients_shown
from clinic.access import can_write, get_for_user
from clinic.links import linker
from patients.selectors import chart_rows
from patients.snapshot import record_for
from patients.models import Patient
from clinical.rules.worklist import URGENCY
from scoring import selectors, services

ANALYSIS_PARTIAL = "scoring/_patient_analysis.html#analysis"


@require_GET
def attention(request: HttpRequest) -> HttpResponse:
    """The worklist (clasi.md 5.6): the user's patients with an open flag or urgent safety
    item, most urgent first, read from the stored state, 50 patients a page."""
    kind = request.GET.get("kind", "")
    kind = kind if kind in URGENCY else ""
    page, rows = selectors.attention_page(request.user, request.GET.get("page"), kind)
    log_patients_shown("needs attention", [row.patient for row in rows], user=request.user)
    return render(
        request,
        "scoring/attention.html",
        {"rows": _attention_lines(rows, request.get_full_path()), "page": page, "kind": kind,
         "kinds": KIND_LABELS, "nav": "attention"},
    )


@dataclass(frozen=True)
class AttentionLine:
    """One worklist item as the page links it: where its date leads, where to acknowledge."""

    item: selectors.StoredItem
    when_url: str
    ack_url: str


@dataclass(frozen=True)
class AttentionPatient:
    patient: Patient
    url: str
    lines: list[AttentionLine]


def _attention_lines(rows: list[selectors.AttentionRow], here: str) -> list[AttentionPatient]:
    """The page's links, made once per patient and item here rather than per cell in
    the template (a page of 50 patients otherwise spends most of its time in {% url %})."""
    back = urlencode({"next": here})
    patient_url, ack_url, visit_url = (linker(n) for n in ("patients:detail", "scoring:acknowledge", "patients:visit"))
    out = []
    for row in rows:
        url = patient_url(row.patient.pk)
        ack = ack_url(row.patient.pk)
        lines = [
            AttentionLine(
                item,
                visit_url(item.visit_id) if item.visit_id else f"{url}#flags",
                f"{ack}?{urlencode({'flag': item.key})}&{back}",
            )
            for item in row.items
        ]
        out.append(AttentionPatient(row.patient, url, lines))
    return out


# The kind filter's choices, in the worklist's order.
KIND_LABELS = {
    "pregnancy_positive": "Positive pregnancy test",
    "cytopenia": "Grade 3-4 cytopenia",
    "pregnancy_test_overdue": "Pregnancy test overdue",
    "crcl_below_review": "Creatinine clearance below review",
    "flag": "Flare flags",
}


def _next_url(request: HttpRequest) -> str:
    """Where to go after acknowledging: the needs-attention page when it sent us (and only there)."""
    target = (request.POST.get("next") or request.GET.get("next") or "").strip()
    attention_url = reverse("scoring:attention")
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    return target if allowed and target.startswith(attention_url) else ""


def _analysis_context(request: HttpRequest, patient: Patient, **extra) -> dict:
    record = record_for(patient)
    analysis = selectors.patient_analysis(patient, record)
    # The chart's table (its text alternative) comes back with the swapped section too.
    flags = [fv.flag for fv in (*analysis["open_flags"], *analysis["acknowledged_flags"])]
    return {
        "patient": patient,
        "next_url": _next_url(request),
        "can_write": can_write(patient),
        **analysis,
        "chart_rows": chart_rows(record, flags, analysis["photo_marks"]),
        **extra,
    }


def _errors(error: ValidationError) -> dict[str, list[str]]:
    return error.message_dict if hasattr(error, "error_dict") else {"form": error.messages}


@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, patient_id) -> HttpResponse:
    """Acknowledge one flag or urgent safety item with a note (clinicians only: a viewer gets 403).

    The banner on the patient page posts here; with htmx the analysis section
    is swapped in place, without JS the browser is redirected back. GET shows
    the same form on its own page (the fallback a link can reach).
    """
    patient = get_for_user(
        request.user, Patient.objects.select_related("clinic"), patient_id, write=True
    )
    flag_key = (request.POST.get("flag_key") or request.GET.get("flag") or "").strip()
    note = request.POST.get("note", "")
    if request.method == "POST":
        try:
            services.acknowledge_flag(patient, flag_key, note, request.user)
        except ValidationError as error:
            errors = _errors(error)
            context = _analysis_context(
                request, patient, ack_errors=errors, ack_key=flag_key, ack_note=note
            )
            if request.htmx:
                # 200 so htmx swaps the section in and the messages show by the form.
                return render(request, ANALYSIS_PARTIAL, context)
            context["standalone"] = True
            return render(request, "scoring/acknowledge.html", context, status=400)
        if request.htmx:
            return render(request, ANALYSIS_PARTIAL, _analysis_context(request, patient, ack_done=flag_key))
        messages.success(request, "Acknowledged; it stays in the patient's history.")
        return redirect(_next_url(request) or reverse("patients:detail", args=[patient.pk]) + "#flags")
    return render(
        request,
        "scoring/acknowledge.html",
        _analysis_context(request, patient, ack_key=flag_key, standalone=True),
    )
