"""The clinic-wide audit report for staff (ONC 170.315(d)(3)): by user,
patient and date range, paginated; each look at it is itself audited."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from audit import selectors
from audit.models import Event
from audit.services import log_event

PAGE_SIZE = 100


class ReportForm(forms.Form):
    user = forms.CharField(label="User (username)", required=False, max_length=150)
    patient = forms.CharField(label="Patient code", required=False, max_length=64)
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    event = forms.ChoiceField(label="Event", required=False, choices=[("", "Any")] + Event.choices)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "The end date is before the start date.")
        return data


@require_safe
def report(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("The audit report is for the site's staff.")
    form = ReportForm(request.GET or None)
    entries, filters = None, {}
    if not form.is_bound or form.is_valid():
        filters = form.cleaned_data if form.is_bound else {}
        entries = selectors.report(_filter(filters))
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page")) if entries is not None else None
    log_event(Event.ACCESS, request.user, repr="audit report",
              data={"page": "audit report", "filters": {k: str(v) for k, v in filters.items() if v}})
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/report.html", {
        "form": form, "page": page, "nav": "audit", "query": query.urlencode(),
    })


def _filter(data: dict) -> selectors.ReportFilter:
    from patients.models import Patient

    patient_ids = None
    if data.get("patient"):
        patient_ids = tuple(Patient.objects.filter(code=data["patient"].strip()).values_list("pk", flat=True))
    return selectors.ReportFilter(
        username=(data.get("user") or "").strip(), patient_ids=patient_ids,
        start=data.get("start"), end=data.get("end"), event=data.get("event") or "",
    )
