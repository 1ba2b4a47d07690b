"""Photographs are served only through clinic access, audited, never cached;
deleting a visit or a photograph removes its files; the timeline page's
queries do not grow with the number of photographs."""

from __future__ import annotations

import datetime as dt

import pytest
from audit.models import AuditEntry as LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import storages
from django.core.management import call_command
from django.urls import reverse

from photos.models import Photo
from tests.audit_queries import audit_entry_queries
from tests.photos import images
from tests.photos.conftest import stored_photo

pytestmark = pytest.mark.django_db

FILE_ROUTES = ("photos:thumb", "photos:screen", "photos:full")


@pytest.fixture
def photo(consent_a, visit_a, clinician_a):
    return stored_photo(visit_a, clinician_a, caption="Malar rash")


def _accesses(photo) -> int:
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Photo), object_pk=str(photo.pk),
        action=LogEntry.Action.ACCESS,
    ).count()


def test_a_photograph_is_served_private_inline_and_unsniffable(client_a, photo):
    response = client_a.get(reverse("photos:screen", args=[photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert {"private", "no-store"} <= {d.strip() for d in response["Cache-Control"].split(",")}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="SYN-001-2025-02-03-screen.jpg"'
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"


def test_an_unsafe_patient_code_never_reaches_the_header(client_a, photo):
    patient = photo.visit.patient
    patient.code = 'A"b\r\nX-Evil: 1/..\\é'
    patient.save()
    response = client_a.get(reverse("photos:thumb", args=[photo.pk]))
    disposition = response["Content-Disposition"]
    assert disposition.startswith('inline; filename="A_b__X-Evil__1')
    assert "\n" not in disposition and '"b' not in disposition


def test_every_view_of_a_photograph_leaves_an_access_entry(client_a, photo):
    assert _accesses(photo) == 0
    for name in FILE_ROUTES:
        client_a.get(reverse(name, args=[photo.pk]))
    client_a.get(reverse("photos:thumb", args=[photo.pk]))
    assert _accesses(photo) == 4
    entry = LogEntry.objects.filter(action=LogEntry.Action.ACCESS, object_pk=str(photo.pk)).first()
    assert entry.actor.username == "ana.clinician"
    # On the patient's history page with the rest of the record.
    assert entry.additional_data == {"patient": str(photo.visit.patient_id)}


def test_another_clinic_gets_404_and_leaves_no_access(outsider_client, photo):
    for name in (*FILE_ROUTES, "photos:delete"):
        assert outsider_client.get(reverse(name, args=[photo.pk])).status_code == 404
    patient_id = photo.visit.patient_id
    for name in ("photos:patient", "photos:compare", "photos:consent"):
        assert outsider_client.get(reverse(name, args=[patient_id])).status_code == 404
    assert outsider_client.get(reverse("photos:visit", args=[photo.visit_id])).status_code == 404
    assert _accesses(photo) == 0


def test_anonymous_users_are_sent_to_sign_in(client, photo):
    for name in FILE_ROUTES:
        response = client.get(reverse(name, args=[photo.pk]))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_viewer_sees_but_cannot_upload_or_delete(viewer_client, photo):
    assert viewer_client.get(reverse("photos:thumb", args=[photo.pk])).status_code == 200
    page = viewer_client.get(reverse("photos:visit", args=[photo.visit_id]))
    assert page.status_code == 200 and b"Add photographs" not in page.content
    assert viewer_client.post(reverse("photos:delete", args=[photo.pk])).status_code == 403
    assert Photo.objects.filter(pk=photo.pk).exists()


def test_deleting_the_visit_removes_the_files(client_a, photo, django_capture_on_commit_callbacks):
    storage = storages["photos"]
    names = photo.file_names()
    assert all(storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(reverse("patients:visit_delete", args=[photo.visit_id]))
    assert response.status_code == 302
    assert not Photo.objects.exists()
    assert not any(storage.exists(n) for n in names)


def test_files_stay_until_the_delete_commits(photo):
    """A rolled-back delete keeps its photograph: removal waits for the commit."""
    from django.db import transaction

    from patients.services import delete_visit

    storage = storages["photos"]
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            delete_visit(photo.visit)
            raise RuntimeError("rolled back")
    assert Photo.objects.filter(pk=photo.pk).exists()
    assert all(storage.exists(n) for n in photo.file_names())


def test_deleting_one_photograph_removes_its_files(client_a, photo, django_capture_on_commit_callbacks):
    storage = storages["photos"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_a.post(reverse("photos:delete", args=[photo.pk]))
    assert response.status_code == 302
    assert not any(storage.exists(n) for n in photo.file_names())


def test_erasing_a_patient_removes_the_files(photo, django_capture_on_commit_callbacks):
    from django.db import transaction

    from photos.services import discard_patient_files

    patient = photo.visit.patient
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            discard_patient_files(patient)
            patient.delete()
    assert not any(storages["photos"].exists(n) for n in photo.file_names())


def test_the_orphan_command_reports_both_ways(photo, capsys):
    from django.core.files.base import ContentFile

    storage = storages["photos"]
    storage.save("ab/stray.jpg", ContentFile(b"x"))
    storage.delete(photo.thumb_name)
    call_command("photo_orphans")
    out = capsys.readouterr().out
    assert "file without row: ab/stray.jpg" in out
    assert f"row without file: photograph {photo.pk} ({photo.thumb_name})" in out
    call_command("photo_orphans", "--delete-files")
    assert not storage.exists("ab/stray.jpg")
    assert storage.exists(photo.full_name)


# -- the timeline ----------------------------------------------------------------------------


def _visit(patient, day, erythema):
    from patients.services import record_visit
    from clinical.instruments.exam import parse_exam

    return record_visit(patient, date=day, exam=parse_exam(
        {"areas": {"nose_malar": {"erythema": erythema, "scale": 1}}}))


def test_the_area_timeline_shows_dates_area_score_and_treatment(client_a, consent_a, course_a,
                                                                clinician_a):
    late = _visit(consent_a.patient, dt.date(2025, 3, 3), erythema=1)
    early = _visit(consent_a.patient, dt.date(2025, 1, 6), erythema=3)
    stored_photo(late, clinician_a)
    stored_photo(early, clinician_a)
    stored_photo(early, clinician_a, areas=["chest"])
    response = client_a.get(reverse("photos:patient", args=[consent_a.patient_id]),
                            {"area": "nose_malar"})
    page = response.content.decode()
    assert page.index("2025-01-06") < page.index("2025-03-03")
    # Erythema 3 + scale 1 = 4, then 1 + 1 = 2 (clasi.md 1.4), of 5 for the area.
    assert "<strong>4</strong> <span class=\"muted\">of 5" in page
    assert "<strong>2</strong> <span class=\"muted\">of 5" in page
    assert "Lenalidomide 5 mg daily" in page
    assert "Consent: For the medical record only (2025-01-06)" in page
    assert page.count('class="photo-card"') == 2  # the chest photograph is not in this area


def test_the_compare_page_has_a_labelled_keyboard_slider(client_a, consent_a, clinician_a):
    a = stored_photo(_visit(consent_a.patient, dt.date(2025, 1, 6), 3), clinician_a)
    b = stored_photo(_visit(consent_a.patient, dt.date(2025, 3, 3), 1), clinician_a)
    response = client_a.get(reverse("photos:compare", args=[consent_a.patient_id]),
                            {"area": "nose_malar", "before": b.pk, "after": a.pk})
    page = response.content.decode()
    assert '<label for="compare-slider"' in page and 'type="range" id="compare-slider"' in page
    # Given the wrong way round, the earlier photograph is still "before".
    assert page.index(reverse("photos:screen", args=[a.pk])) < page.index(
        reverse("photos:screen", args=[b.pk]))


def test_timeline_queries_do_not_grow_with_photographs(client_a, consent_a, course_a, clinician_a,
                                                       django_assert_num_queries):
    url = reverse("photos:patient", args=[consent_a.patient_id])

    def add(day):
        visit = _visit(consent_a.patient, day, 2)
        stored_photo(visit, clinician_a)
        stored_photo(visit, clinician_a, areas=["nose_malar", "chest"])

    add(dt.date(2025, 1, 6))
    # session, user, patient through access, the access entry (insert), the record
    # (visits+assessments, labs, events, courses, dose steps), photographs, consent.
    with django_assert_num_queries(QUERIES + audit_entry_queries()):
        client_a.get(url, {"area": "nose_malar"})
    for day in range(10, 20):
        add(dt.date(2025, 2, day))
    with django_assert_num_queries(QUERIES + audit_entry_queries()):
        response = client_a.get(url, {"area": "nose_malar"})
    assert response.content.decode().count('class="photo-card"') == 22


# The snapshot reader (one query per table of the record) plus the photographs,
# and the access entry (audit_entry_queries: chain link, entry, patient index).
QUERIES = 11


def test_thumbnails_are_small(photo):
    assert photo.thumb_bytes < photo.screen_bytes <= photo.full_bytes
    big = stored_photo(photo.visit, photo.uploaded_by, data=images.jpeg(size=(4000, 3000)))
    assert big.thumb_bytes < 15_000


def test_a_clinician_corrects_the_areas(client_a, photo):
    url = reverse("photos:edit", args=[photo.pk])
    response = client_a.post(url, {"areas": ["ears"], "caption": "Left ear"})
    assert response.status_code == 302
    photo.refresh_from_db()
    assert (photo.areas, photo.caption) == (["ears"], "Left ear")
    response = client_a.post(url, {"areas": ["knee"]})
    assert response.status_code == 400
    assert "CLASI areas: “knee” is not a CLASI area" in response.content.decode()
    response = client_a.post(url, {"caption": "x"})
    assert "CLASI areas: Choose at least one CLASI area" in response.content.decode()
    photo.refresh_from_db()
    assert photo.areas == ["ears"]


def test_the_visit_page_and_form_and_patient_page_link_to_the_photographs(client_a, photo):
    upload_url = reverse("photos:visit", args=[photo.visit_id])
    visit_page = client_a.get(reverse("patients:visit", args=[photo.visit_id])).content.decode()
    assert upload_url in visit_page and reverse("photos:thumb", args=[photo.pk]) in visit_page
    assert "Consent: For the medical record only (2025-01-06)" in visit_page
    edit_page = client_a.get(reverse("patients:visit_edit", args=[photo.visit_id])).content.decode()
    assert upload_url in edit_page
    patient_page = client_a.get(reverse("patients:detail", args=[photo.visit.patient_id]))
    assert reverse("photos:patient", args=[photo.visit.patient_id]) in patient_page.content.decode()


def test_visit_and_upload_pages_do_not_grow_with_photographs(client_a, photo, clinician_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    urls = [reverse("patients:visit", args=[photo.visit_id]),
            reverse("photos:visit", args=[photo.visit_id])]

    def counts():
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client_a.get(url).status_code == 200
            found.append(len(queries))
        return found

    few = counts()
    for _ in range(4):
        stored_photo(photo.visit, clinician_a)
    assert counts() == few
