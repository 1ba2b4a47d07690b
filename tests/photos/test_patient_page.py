"""The patient page shows the latest photographs as thumbnails: the stored
thumbnail rendition through the access-checked, audited view, lazy, with its
size set; the page's queries do not grow with the photographs, and a repeat
load stays within 30 KB of HTML plus the thumbnails shown."""

from __future__ import annotations

import datetime as dt
import gzip
import re

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from audit.models import AuditEntry as LogEntry
from photos.models import Photo
from photos.selectors import RECENT
from tests.audit_queries import audit_entry_queries
from tests.clinic.test_plotly_bundle import REPEAT_VISIT_BUDGET, demo_client  # noqa: F401
from tests.photos import images
from tests.photos.conftest import stored_photo
from tests.scoring.test_patient_analysis_page import PATIENT_PAGE_QUERIES_EXACT, RECENT_PHOTOS_QUERIES

pytestmark = pytest.mark.django_db

THUMB = re.compile(r'<img src="(/photos/([0-9a-f-]{36})/thumb\.jpg)"([^>]*)>')


def _visits(patient, n: int):
    from patients.services import record_visit

    return [record_visit(patient, date=dt.date(2025, 1, 6) + dt.timedelta(days=14 * i))
            for i in range(n)]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_page_queries_do_not_grow_from_1_to_10_photographs(client_a, consent_a, clinician_a):
    visits = _visits(consent_a.patient, 5)
    url = reverse("patients:detail", args=[consent_a.patient_id])
    stored_photo(visits[0], clinician_a)
    one = _queries(client_a, url)
    for k in range(9):
        stored_photo(visits[k % 5], clinician_a, areas=["chest"])
    assert Photo.objects.count() == 10
    ten = _queries(client_a, url)
    # The page's own (tests/scoring/test_patient_analysis_page.py), the consent
    # riding with the patient's row, and the latest photographs' ONE query.
    assert one == ten == PATIENT_PAGE_QUERIES_EXACT + RECENT_PHOTOS_QUERIES + audit_entry_queries()


def test_no_photograph_no_section_and_the_same_queries(client_a, patient_a):
    url = reverse("patients:detail", args=[patient_a.pk])
    # A first view (the second is served from the page's cache, on the record's stamp);
    # the stamp counts no photograph, so the latest ones are not looked for.
    assert _queries(client_a, url) == PATIENT_PAGE_QUERIES_EXACT + audit_entry_queries()
    html = client_a.get(url).content.decode()
    assert "Recent photographs" not in html


def test_the_latest_thumbnails_lazy_sized_and_served_through_the_audited_view(
    client_a, consent_a, clinician_a
):
    visits = _visits(consent_a.patient, 4)
    photos = [stored_photo(visits[k % 4], clinician_a, data=images.jpeg((400 + 10 * k, 300)))
              for k in range(RECENT + 2)]
    html = client_a.get(reverse("patients:detail", args=[consent_a.patient_id])).content.decode()
    shown = THUMB.findall(html)
    # Newest visit first, then the latest upload of that visit.
    newest = sorted(photos, key=lambda p: (p.visit.date, p.uploaded_at), reverse=True)[:RECENT]
    assert [pk for _, pk, _ in shown] == [str(p.pk) for p in newest]
    assert "Consent: For the medical record only (2025-01-06)" in html
    assert "All photographs" in html  # more than RECENT
    storage = storages["photos"]
    for url, pk, attributes in shown:
        photo = Photo.objects.get(pk=pk)
        assert 'loading="lazy"' in attributes
        with storage.open(photo.thumb_name) as handle:
            width, height = Image.open(handle).size
        assert f'width="{width}" height="{height}"' in attributes
        assert url == reverse("photos:thumb", args=[pk])
    # The thumbnail's own request goes through clinic access and leaves an access entry.
    before = LogEntry.objects.filter(object_pk=shown[0][1], action=LogEntry.Action.ACCESS).count()
    response = client_a.get(shown[0][0])
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert LogEntry.objects.filter(object_pk=shown[0][1],
                                   action=LogEntry.Action.ACCESS).count() == before + 1


def test_a_repeat_load_is_30_kb_of_html_plus_the_thumbnails_shown(demo_client, capsys):  # noqa: F811
    from patients.models import Patient
    from photos.services import record_consent

    client, _ = demo_client
    patient = max(Patient.objects.all(), key=lambda p: p.visits.count())
    user = client.get(reverse("patients:list")).wsgi_request.user
    record_consent(patient, level="record", given_on=dt.date(2025, 1, 6), recorded_by=user)
    visits = list(patient.visits.order_by("-date")[:5])
    for k in range(10):  # photographic texture: thumbnails as heavy as real ones
        stored_photo(visits[k % 5], user, data=images.textured_jpeg(
            (800, 600) if k % 2 else (600, 800), (205 - 5 * k, 150, 130)))
    response = client.get(reverse("patients:detail", args=[patient.pk]),
                          HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    html_bytes = len(response.content)
    shown = THUMB.findall(gzip.decompress(response.content).decode())
    assert len(shown) == RECENT
    thumbs = []
    for url, _, _ in shown:
        image = client.get(url)
        assert image.status_code == 200
        thumbs.append(len(b"".join(image.streaming_content)))
    # Thumbnails are sent no-store (private photographs): they travel on every load.
    assert html_bytes <= REPEAT_VISIT_BUDGET
    assert all(size < 16_000 for size in thumbs), thumbs
    with capsys.disabled():
        print(f"\npatient page with {len(shown)} thumbnails: HTML {html_bytes} B (gzip), thumbnails "
              f"{thumbs} B = {sum(thumbs)} B; repeat load {html_bytes + sum(thumbs)} B")
