"""Import and export pages: a clinic's cle-tracker/1 document, its visits CSV, the schema.

Every member of a clinic may download (viewers included); only its
clinicians may upload. The clinic always comes through clinic.access: 404
outside the user's clinics, 403 for a viewer's upload.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_safe

from clinic.access import clinics_for, require_clinic
from clinic.services import log_bulk_read
from patients.exchange import (
    SCHEMA_FILENAME,
    SCHEMA_PATH,
    DocumentError,
    dumps_document,
    export_document,
    import_document,
    loads_document,
    write_visits_csv,
)

MAX_UPLOAD_BYTES = 64 * 1024 * 1024


class UploadForm(forms.Form):
    document = forms.FileField(
        label="cle-tracker/1 document (JSON)",
        help_text="All or nothing: one error rejects the whole document and nothing is written.",
    )
    update = forms.BooleanField(
        label="Replace patients whose code exists already",
        required=False,
        help_text="Their details, courses and visits are replaced by the document's.",
    )

    def clean_document(self):
        upload = self.cleaned_data["document"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                "import it with `manage.py import_cohort` instead."
            )
        return upload


def _filename(clinic, suffix: str) -> str:
    return f"{slugify(clinic.name) or 'clinic'}-{timezone.localdate().isoformat()}.{suffix}"


def _exported(clinic) -> list[tuple]:
    """(id, code) of every patient a download of the clinic carries."""
    return list(clinic.patients.order_by("code").values_list("id", "code"))


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request, "exchange/index.html", {"nav": "exchange", "clinics": clinics_for(request.user)}
    )


@require_safe
def export(request: HttpRequest, clinic_id) -> HttpResponse:
    clinic = require_clinic(request.user, clinic_id)
    document = export_document(clinic)
    log_bulk_read(clinic, "cle-tracker/1 export", _exported(clinic))
    response = HttpResponse(dumps_document(document), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(clinic, "json")}"'
    return response


@require_safe
def visits_csv(request: HttpRequest, clinic_id) -> HttpResponse:
    clinic = require_clinic(request.user, clinic_id)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(clinic, "visits.csv")}"'
    write_visits_csv(clinic, response)
    log_bulk_read(clinic, "visits CSV", _exported(clinic))
    return response


@require_safe
def schema(request: HttpRequest) -> FileResponse:
    return FileResponse(
        SCHEMA_PATH.open("rb"),
        as_attachment=True,
        filename=SCHEMA_FILENAME,
        content_type="application/schema+json",
    )


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, clinic_id) -> HttpResponse:
    clinic = require_clinic(request.user, clinic_id, write=True)
    form = UploadForm(request.POST or None, request.FILES or None)
    error: DocumentError | None = None
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["document"]
        try:
            result = import_document(
                loads_document(upload_file.read()),
                clinic=clinic,
                existing="update" if form.cleaned_data["update"] else "error",
                source=upload_file.name,
                actor=request.user,
            )
        except DocumentError as caught:
            error = caught
        else:
            messages.success(request, result.summary())
            return redirect("exchange:index")
    context = {"nav": "exchange", "clinic": clinic, "form": form, "error": error}
    return render(request, "exchange/upload.html", context, status=400 if error else 200)
