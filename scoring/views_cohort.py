"""The cohort page: the outcome report of one clinic, with its two charts.

Same numbers as `manage.py cohort_report` (both go through scoring.cohort).
One clinic at a time; a user of several clinics picks one with a plain GET
form. The clinic comes through clinic.access (404 outside the user's clinics).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from audit.models import Event
from audit.services import log_event
from clinic.access import clinics_for, require_clinic
from patients.dates import implausible
from patients.models import Patient
from clinical.charts.cohort import activity_by_week_figure, relapse_free_figure
from scoring.cohort import clinic_cohort
from clinical.rules.flares import FLAG_LABELS
from clinical.rules.outcomes import VALL_DHEBRON


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of the report as the page shows them."""
    evaluable = report["evaluable_courses"]
    withdrawn = report["withdrawn_in_complete_response"]
    weeks = report["weeks_to_relapse"]
    mean = report["mean_baseline_activity"]
    return [
        ("Patients", str(report["patients"])),
        ("Lenalidomide courses", str(report["courses"])),
        ("Evaluable courses (baseline and on-treatment CLASI)", str(evaluable)),
        ("Stopped for an adverse event", str(report["stopped_for_adverse_event"])),
        ("Improved (MCID or better)", f"{report['improved']} of {evaluable}"),
        (
            "Complete response (CLASI-A 0)",
            f"{report['complete_response']} of {evaluable} ({_percent(report['complete_response_rate'])})",
        ),
        ("Partial response (fall of 50% or more)", f"{report['partial_response']} of {evaluable}"),
        ("Withdrawn in complete response", str(withdrawn)),
        (
            "Relapsed after withdrawal",
            f"{report['relapsed_after_withdrawal']} of {withdrawn} ({_percent(report['relapse_rate'])})",
        ),
        (
            "Weeks to relapse (min / median / max)",
            "–" if weeks["min"] is None else f"{weeks['min']} / {weeks['median']} / {weeks['max']}",
        ),
        ("Mean baseline CLASI-A (evaluable courses)", "–" if mean is None else f"{mean:.1f}"),
    ]


@require_safe  # a read-only page: a POST is 405, never a write
def cohort(request: HttpRequest) -> HttpResponse:
    clinics = clinics_for(request.user)
    context: dict[str, Any] = {"nav": "cohort", "clinics": clinics}
    if not clinics:
        return render(request, "scoring/cohort.html", context)
    chosen = request.GET.get("clinic")
    clinic = require_clinic(request.user, chosen) if chosen else clinics[0].clinic
    today = timezone.localdate()
    as_of, as_of_error = today, ""
    if request.GET.get("as_of"):
        try:
            as_of = dt.date.fromisoformat(request.GET["as_of"])
        except ValueError:
            as_of_error = "Enter the date as YYYY-MM-DD."
        else:
            if implausible(as_of):
                as_of, as_of_error = today, implausible(as_of)
    data = clinic_cohort(clinic, as_of)
    report = data.report()
    # The report names the patients with flags; the rest is counts of the clinic.
    codes = dict(Patient.objects.filter(clinic=clinic).values_list("code", "id"))
    shown = {str(codes[flag["patient"]]) for flag in report["flags"] if flag["patient"] in codes}
    log_event(Event.ACCESS, clinic, repr="cohort report",
              data={"page": "cohort report", "patients": sorted(shown)})
    if request.GET.get("format") == "json":
        return JsonResponse(report, json_dumps_params={"indent": 2})
    km = data.relapse_free()
    context.update(
        clinic=clinic,
        as_of=as_of,
        as_of_is_today=as_of == today,
        as_of_error=as_of_error,
        report=report,
        rows=summary_rows(report),
        flags=[
            {
                **flag,
                "label": FLAG_LABELS.get(flag["kind"], flag["kind"]),
                "patient_id": codes.get(flag["patient"]),
            }
            for flag in report["flags"]
        ],
        km=km,
        km_median_weeks=None if km.median_days is None else km.median_days // 7,
        km_figure=relapse_free_figure(km),
        activity_figure=activity_by_week_figure(data.activity_by_week()),
        context_study=VALL_DHEBRON,
    )
    return render(request, "scoring/cohort.html", context)
