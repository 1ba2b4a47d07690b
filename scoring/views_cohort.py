"""The cohort page: the outcome report of one clinic, laid out as a paper's results.

Same numbers as `manage.py cohort_report` (both go through scoring.cohort,
whose rules run once per request: the report, the Kaplan-Meier curve, the
activity chart, Table 1 and immunology all read that one answer). One clinic
and one watched drug at a time, chosen with a plain GET form. The clinic comes
through clinic.access (404 outside the user's clinics).
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
from clinical.drugs import registry as drugs
from clinical.published_series import PUBLISHED_SERIES
from clinical.rules.flares import FLAG_LABELS
from scoring.cohort import DEFAULT_DRUG, clinic_cohort, watched_drugs

NOT_REPORTED = "not reported"


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _range(weeks: dict[str, Any]) -> str:
    return "–" if weeks["min"] is None else f"{weeks['min']} / {weeks['median']} / {weeks['max']}"


def _of(count: int, total: int, rate: float | None) -> str:
    return f"{count} of {total} ({_percent(rate)})"


def response_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, per patient, per course): the paper counts patients, the rules courses."""
    evaluable = report["evaluable_courses"]
    return [
        ("Evaluable (baseline CLASI-A >= 1 and a CLASI on treatment)",
         str(report["patients_evaluable"]), str(evaluable)),
        ("Complete response (CLASI-A 0)",
         _of(report["patients_complete_response"], report["patients_evaluable"],
             report["patient_complete_response_rate"]),
         _of(report["complete_response"], evaluable, report["complete_response_rate"])),
        ("Partial response (fall of 50% or more)", "–", f"{report['partial_response']} of {evaluable}"),
        ("Improved (MCID or better)", "–", f"{report['improved']} of {evaluable}"),
        ("Stopped for an adverse event", "–", str(report["stopped_for_adverse_event"])),
    ]


def relapse_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The relapse table: the rate is over the courses whose outcome is known
    (`followed_after_withdrawal_in_cr`); lost to follow-up is shown apart."""
    withdrawn = report["withdrawn_in_complete_response"]
    followed = report["followed_after_withdrawal_in_cr"]
    return [
        ("Withdrawn in complete response", str(withdrawn)),
        ("Outcome known (a CLASI after withdrawal, or a restart)", str(followed)),
        ("Lost to follow-up (no CLASI after withdrawal, no restart)", str(withdrawn - followed)),
        (
            "Relapsed after withdrawal (a relapse flag, or a restart)",
            f"{report['relapsed_after_withdrawal']} of {followed} ({_percent(report['relapse_rate'])})",
        ),
        ("Weeks to relapse (min / median / max)", _range(report["weeks_to_relapse"])),
    ]


def comparison_rows(report: dict[str, Any], table_one: dict[str, Any]) -> list[dict[str, str]]:
    """The clinic beside the published series (clinical/published_series.py)."""

    def pct(rate) -> str:
        return NOT_REPORTED if rate is None else f"{float(rate) * 100:.0f}%"

    weeks = report["weeks_to_relapse"]
    clinic_row = {
        "name": "This clinic",
        "patients": str(table_one["patients"]),
        "complete_response": (
            f"{report['patients_complete_response']} of {report['patients_evaluable']} "
            f"({_percent(report['patient_complete_response_rate'])})"
        ),
        "relapse": _percent(report["relapse_rate"]),
        "weeks_to_relapse": "–" if weeks["min"] is None else f"{weeks['min']}-{weeks['max']}",
        "adverse_events": "; ".join(
            f"{e['term']} ({e['patients']}, grade {e['max_grade']})"
            for e in report["adverse_events"][:3]
        )
        or "none",
        "source": "",
    }
    rows = [clinic_row]
    for series in PUBLISHED_SERIES:
        if series.complete_response is not None and series.evaluable:
            cr = f"{series.complete_response} of {series.evaluable} ({pct(series.cr_rate)})"
        else:
            cr = pct(series.cr_rate)
        rows.append(
            {
                "name": series.name,
                "patients": str(series.patients),
                "complete_response": cr,
                "relapse": pct(series.relapse_rate),
                "weeks_to_relapse": series.weeks_to_relapse or NOT_REPORTED,
                "adverse_events": series.adverse_events or NOT_REPORTED,
                "source": series.source,
                "note": series.note,
            }
        )
    return rows


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
    drug, drug_error = request.GET.get("drug") or DEFAULT_DRUG, ""
    if drug not in watched_drugs():
        drug_error = f"Choose one of: {', '.join(drugs.get(d).label for d in watched_drugs())}."
        drug = DEFAULT_DRUG
    data = clinic_cohort(clinic, as_of, drug)
    report = data.report()
    # The report names the patients with flags; the rest is counts of the clinic.
    codes = dict(Patient.objects.filter(clinic=clinic).values_list("code", "id"))
    shown = {str(codes[flag["patient"]]) for flag in report["flags"] if flag["patient"] in codes}
    log_event(Event.ACCESS, clinic, repr="cohort report",
              data={"page": "cohort report", "patients": sorted(shown)})
    if request.GET.get("format") == "json":
        return JsonResponse(report, json_dumps_params={"indent": 2})
    km = data.relapse_free()
    table_one = data.table_one()
    drugs_present = data.drugs_present()
    context.update(
        drug=drug,
        drug_label=drugs.get(drug).label,
        drug_error=drug_error,
        # The selector shows when the clinic has courses of more than one watched drug
        # (or the request asked for a drug it cannot show).
        drug_choices=[(d, drugs.get(d).label) for d in watched_drugs()]
        if len(drugs_present) > 1 or drug_error
        else [],
        table_one=table_one,
        response_rows=response_rows(report),
        relapse_rows=relapse_rows(report),
        weeks_to_improvement=_range(report["weeks_to_improvement"]),
        weeks_to_complete_response=_range(report["weeks_to_complete_response"]),
        follow_up=_range(report["follow_up_weeks"]),
        activity_rows=[
            (week, "–" if cell["mean"] is None else f"{cell['mean']:.1f}", cell["n"])
            for week, cell in report["mean_activity_by_week"].items()
        ],
        immunology=data.immunology(),
        comparison=comparison_rows(report, table_one),
        clinic=clinic,
        as_of=as_of,
        as_of_is_today=as_of == today,
        as_of_error=as_of_error,
        report=report,
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
    )
    return render(request, "scoring/cohort.html", context)
