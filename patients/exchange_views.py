"""Import and export pages: a clinic's cle-tracker document, its visits CSV, the schemas.

Every member of a clinic may download (viewers included); only its
clinicians may upload. The clinic always comes through clinic.access: 404
outside the user's clinics, 403 for a viewer's upload.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
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
    SCHEMA_V1_FILENAME,
    SCHEMA_V1_PATH,
    DocumentError,
    dumps_document,
    export_document,
    loads_document,
    write_visits_csv,
)


class UploadForm(forms.Form):
    document = forms.FileField(
        label="cle-tracker/2 or /1 document (JSON)",
        help_text="All or nothing: one error rejects the whole document and nothing is written.",
    )
    update = forms.BooleanField(
        label="Replace patients whose code exists already",
        required=False,
        help_text="Their details, courses and visits are replaced by the document's.",
    )

    def clean_document(self):
        # Normally refused earlier, from Content-Length alone
        # (clinic.middleware.RequestSizeLimitMiddleware); this is the file itself.
        upload = self.cleaned_data["document"]
        limit = settings.CLE_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is larger than {limit // (1024 * 1024)} MB; "
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


def _schema_file(path, filename: str) -> FileResponse:
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=filename, content_type="application/schema+json"
    )


@require_safe
def schema(request: HttpRequest) -> FileResponse:
    """The JSON Schema of cle-tracker/2, the format export writes."""
    return _schema_file(SCHEMA_PATH, SCHEMA_FILENAME)


@require_safe
def schema_v1(request: HttpRequest) -> FileResponse:
    """The JSON Schema of cle-tracker/1, which import still reads."""
    return _schema_file(SCHEMA_V1_PATH, SCHEMA_V1_FILENAME)


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest, clinic_id) -> HttpResponse:
    """Hand the document to a background job (jobs.services) and show its progress.

    The request only receives the file and stores it: checking and writing a
    large document takes minutes, which no web worker should be held for. A
    small document (held in memory) is decoded here first, so malformed JSON
    is answered at once; everything else is reported on the job's page.
    """
    from jobs.services import ImportBusy, enqueue_import

    clinic = require_clinic(request.user, clinic_id, write=True)
    form = UploadForm(request.POST or None, request.FILES or None)
    error: DocumentError | None = None
    busy = None
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["document"]
        content = upload_file.read()
        try:
            if len(content) <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
                loads_document(content)
            job = enqueue_import(
                clinic,
                content=content,
                source=upload_file.name or "",
                replace=form.cleaned_data["update"],
                user=request.user,
            )
        except DocumentError as caught:
            error = caught
        except ImportBusy as caught:
            busy = caught
        else:
            return redirect("jobs:detail", job_id=job.pk)
    context = {"nav": "exchange", "clinic": clinic, "form": form, "error": error, "busy": busy}
    status = 400 if error else 409 if busy else 200
    return render(request, "exchange/upload.html", context, status=status)
