"""Photograph pages: thin views over clinic access, selectors and services.

Every file is sent by `photo_file` only: through clinic access (404 outside
the clinic), logged as an access in the audit trail, never cached.
"""

from __future__ import annotations

import re

from auditlog.signals import accessed
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_safe

from clinic.access import can_write, get_for_user
from patients import selectors as patient_selectors
from patients.bodymap import body_map
from patients.models import Patient
from photos import selectors, services
from photos.forms import AREA_CHOICES, ConsentForm, PhotoEditForm, PhotoRowForm, row_forms
from photos.uploads import PhotoSizeLimit, declared_length, request_limit
from clinical.instruments.clasi import CLASI
from clinical.instruments.instrument import ACTIVITY

DEFAULT_ROWS = 3
VARIANTS = {"thumb": "thumb_name", "screen": "screen_name", "full": "full_name"}


def _patient(request: HttpRequest, patient_id, *, write: bool = False) -> Patient:
    return get_for_user(request.user, Patient.objects.select_related("clinic"), patient_id,
                        write=write)


def _apply_errors(rows: list[PhotoRowForm], page_errors: list[str], error: ValidationError) -> None:
    """Put each service message on its row's field ("photo-1-areas"), the rest on the page."""
    by_prefix = {row.prefix: row for row in rows}
    for key, messages_ in error.message_dict.items():
        prefix, _, field = key.rpartition("-")
        row = by_prefix.get(prefix)
        if row is not None and field in row.fields:
            row.add_error(field, messages_)
        else:
            label = {"consent": "Consent", "photos": "Photographs", "visit": "Visit"}.get(key, key)
            page_errors.extend(f"{label}: {m}" for m in messages_)


def _row_count(request: HttpRequest) -> int:
    top = settings.CLE_PHOTO_LIMITS["max_files"]
    try:
        asked = int(request.POST.get("rows") or request.GET.get("rows") or DEFAULT_ROWS)
    except ValueError:
        asked = DEFAULT_ROWS
    return max(1, min(top, asked))


def _upload_page(request, visit, rows, page_errors=(), status=200) -> HttpResponse:
    patient = visit.patient
    row_count = len(rows)
    context = {
        "visit": visit,
        "patient": patient,
        "rows": rows,
        "row_count": row_count,
        "more_rows": row_count + 1 if row_count < settings.CLE_PHOTO_LIMITS["max_files"] else None,
        "page_errors": list(page_errors),
        "row_errors": any(row.is_bound and row.errors for row in rows),
        "photos": selectors.visit_photos(visit),
        "consent": selectors.consent_of(patient),
        "consent_problem": services.consent_error(patient),
        "can_write": can_write(visit),
        "picker": body_map(None, ACTIVITY),
        "limits": settings.CLE_PHOTO_LIMITS,
        "max_megapixels": settings.CLE_PHOTO_LIMITS["max_pixels"] // 1_000_000,
        "nav": "patients",
    }
    return render(request, "photos/upload.html", context, status=status)


@csrf_exempt  # checked by _receive_upload, once the upload handlers are in place
@require_http_methods(["GET", "POST"])
def visit_photos(request: HttpRequest, visit_id) -> HttpResponse:
    """A visit's photographs, and the upload of new ones (clinicians)."""
    visit = patient_selectors.visit_for_page(request.user, visit_id)
    if request.method == "GET":
        accessed.send(sender=type(visit), instance=visit)
        return _upload_page(request, visit, row_forms(rows=_row_count(request)))
    if not can_write(visit):
        raise PermissionDenied("Viewers cannot add photographs.")
    limits = settings.CLE_PHOTO_LIMITS
    declared = declared_length(request)
    if declared is None or declared > request_limit(limits):
        # Refused from the header: not one byte of the body is read.
        return _upload_page(request, visit, row_forms(rows=DEFAULT_ROWS), [
            f"Photographs: the upload is {(declared or 0) / 1_048_576:.0f} MB; send at most "
            f"{limits['max_files']} photographs of up to {limits['max_bytes'] // 1_048_576} MB "
            "each. Nothing was saved."], status=413)
    guard = PhotoSizeLimit(limits["max_bytes"], request)
    request.upload_handlers.insert(0, guard)
    try:
        request.POST, request.FILES  # noqa: B018 - parse now, under the size guard
    except (MultiPartParserError, UnreadablePostError):
        return _upload_page(request, visit, row_forms(rows=DEFAULT_ROWS), [
            "Photographs: the upload was interrupted before it was complete; nothing was saved. "
            "Choose the files again."], status=400)
    return csrf_protect(_receive_upload)(request, visit, guard)


def _receive_upload(request: HttpRequest, visit, guard: PhotoSizeLimit) -> HttpResponse:
    rows = row_forms(request.POST, request.FILES, rows=_row_count(request))
    if guard.too_large is not None:
        field, name = guard.too_large
        limit = guard.max_bytes // 1_048_576
        number = {f"{row.prefix}-file": i + 1 for i, row in enumerate(rows)}.get(field)
        label = f"Photograph {number}" if number else "Photographs"
        return _upload_page(request, visit, row_forms(rows=len(rows)), [
            f"{label}: {name} is larger than {limit} MB; it was not read. Nothing was saved."],
            status=413)
    if guard.interrupted is not None:
        return _upload_page(request, visit, row_forms(rows=len(rows)), [
            f"Photographs: the upload of {guard.interrupted[1] or 'a file'} was interrupted before "
            "it was complete; nothing was saved. Choose the files again."], status=400)
    valid = all([row.is_valid() for row in rows])
    page_errors: list[str] = []
    if valid:
        inputs = [
            services.PhotoInput(row.prefix, row.cleaned_data["file"], row.cleaned_data["areas"],
                                row.cleaned_data["caption"], label=f"Photograph {i + 1}")
            for i, row in enumerate(rows) if not row.is_blank()
        ]
        try:
            saved = services.upload_photos(visit, inputs, uploaded_by=request.user)
        except ValidationError as error:
            _apply_errors(rows, page_errors, error)
        else:
            count = len(saved)
            messages.success(request, f"{count} photograph{'s' if count != 1 else ''} added to "
                                      f"the visit of {visit.date:%Y-%m-%d}.")
            return redirect("photos:visit", visit_id=visit.pk)
    return _upload_page(request, visit, rows, page_errors, status=400)


@require_safe
def photo_file(request: HttpRequest, photo_id, variant: str) -> HttpResponse:
    """The image itself: clinic access, an audit entry per opening, no caching."""
    photo = selectors.photo_for_user(request.user, photo_id)
    accessed.send(sender=type(photo), instance=photo)
    storage = services.photo_storage()
    try:
        handle = storage.open(getattr(photo, VARIANTS[variant]), "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file of this photograph is missing.") from None
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", photo.visit.patient.code)[:40] or "photo"
    filename = f"{safe}-{photo.visit.date:%Y-%m-%d}-{variant}.jpg"
    response = FileResponse(handle, content_type="image/jpeg", as_attachment=False,
                            filename=filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
def photo_edit(request: HttpRequest, photo_id) -> HttpResponse:
    """Correct a photograph's areas or caption (the image itself never changes)."""
    photo = selectors.photo_for_user(request.user, photo_id, write=True)
    form = PhotoEditForm(request.POST or None,
                         initial={"areas": photo.areas, "caption": photo.caption})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_photo(photo, **form.cleaned_data)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Photograph updated.")
                return redirect("photos:visit", visit_id=photo.visit_id)
        status = 400
    return render(request, "photos/photo_form.html", {
        "photo": photo, "patient": photo.visit.patient, "form": form, "nav": "patients",
        "consent": selectors.consent_of(photo.visit.patient),
    }, status=status)


@require_http_methods(["GET", "POST"])
def photo_delete(request: HttpRequest, photo_id) -> HttpResponse:
    photo = selectors.photo_for_user(request.user, photo_id, write=True)
    visit = photo.visit
    if request.method == "POST":
        services.delete_photo(photo)
        messages.success(request, f"Photograph of {visit.date:%Y-%m-%d} deleted.")
        return redirect("photos:visit", visit_id=visit.pk)
    return render(request, "patients/confirm_delete.html", {
        "patient": visit.patient, "what": f"this photograph of the visit of {visit.date:%Y-%m-%d}",
        "detail": "Its files are deleted too; the audit trail keeps the record that it existed.",
        "cancel_url": reverse("photos:visit", args=[visit.pk]), "nav": "patients",
    })


def _area_from(request: HttpRequest) -> str | None:
    area = request.GET.get("area") or ""
    return area if area in CLASI.area_keys else None


@require_safe
def patient_photos(request: HttpRequest, patient_id) -> HttpResponse:
    """The photo timeline: the body map is the index; one area's photographs
    in date order with that visit's area CLASI-A and treatments in force."""
    patient = _patient(request, patient_id)
    accessed.send(sender=Patient, instance=patient)
    index = selectors.photo_index(patient)
    area = _area_from(request)
    entries = selectors.area_timeline(index, area) if area else []
    context = {
        "patient": patient,
        "area": area,
        "area_label": selectors.area_label(area) if area else "",
        "entries": entries,
        "counts": index["counts"],
        "total": len(index["photos"]),
        "index_figures": [
            (fig, [(r, index["counts"].get(r.area, 0)) for r in fig.regions])
            for fig in body_map(None, ACTIVITY).figures
        ],
        "areas": [(key, label, index["counts"].get(key, 0)) for key, label in AREA_CHOICES],
        "consent": selectors.consent_of(patient),
        "nav": "patients",
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "photos/timeline.html#area_panel" if partial else "photos/timeline.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_safe
def compare(request: HttpRequest, patient_id) -> HttpResponse:
    """Two photographs of one area side by side, with a before/after slider."""
    patient = _patient(request, patient_id)
    accessed.send(sender=Patient, instance=patient)
    area = _area_from(request)
    if area is None:
        return redirect("photos:patient", patient_id=patient.pk)
    entries = selectors.area_timeline(selectors.photo_index(patient), area)
    by_id = {str(e.photo.pk): e for e in entries}
    before = by_id.get(request.GET.get("before", "")) or (entries[0] if entries else None)
    after = by_id.get(request.GET.get("after", "")) or (entries[-1] if entries else None)
    if before and after and after.date < before.date:
        before, after = after, before
    return render(request, "photos/compare.html", {
        "patient": patient, "area": area, "area_label": selectors.area_label(area),
        "entries": entries, "before": before, "after": after,
        "consent": selectors.consent_of(patient), "nav": "patients",
    })


@require_http_methods(["GET", "POST"])
def consent_edit(request: HttpRequest, patient_id) -> HttpResponse:
    patient = _patient(request, patient_id, write=True)
    current = selectors.consent_of(patient)
    form = ConsentForm(request.POST or None, instance=current)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.record_consent(patient, recorded_by=request.user, **{
                    k: form.cleaned_data[k] for k in ("level", "given_on", "note")})
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"Photographic consent of {patient.code} recorded.")
                return redirect(_safe_next(request) or reverse("photos:patient", args=[patient.pk]))
        status = 400
    return render(request, "photos/consent_form.html", {
        "patient": patient, "form": form, "consent": current, "nav": "patients",
        "next": _safe_next(request),
    }, status=status)


def _safe_next(request: HttpRequest) -> str:
    """Only a path of this site (an open redirect would be a phishing aid)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else ""
