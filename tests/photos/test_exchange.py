"""Photographs in the exchange document (photos/exchange.py): export --with-photos
writes the files beside the document, import takes them back all or nothing;
the visits CSV counts each visit's photographs."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from clinic.models import Clinic
from clinical.instruments.exam import parse_exam
from patients.exchange import DocumentError, export_document, import_document
from patients.exchange.visits_csv import visit_rows
from patients.models import Patient
from photos import imaging
from photos.management.commands.photo_orphans import stored_names
from photos.models import Photo, PhotoConsent
from photos.services import limits
from tests.photos import images
from tests.photos.conftest import stored_photo

pytestmark = pytest.mark.django_db


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def photographed(consent_a, visit_a, clinician_a):
    """Two visits of patient_a: three photographs at the first (a caption, two
    areas, a PNG source), one at the second."""
    from patients.services import record_visit

    later = record_visit(consent_a.patient, date=dt.date(2025, 5, 5),
                         exam=parse_exam({"areas": {"nose_malar": {"erythema": 1}}}))
    photos = [
        stored_photo(visit_a, clinician_a, caption="Malar rash, left", data=images.jpeg((300, 200))),
        stored_photo(visit_a, clinician_a, areas=["chest", "nose_malar"],
                     data=images.jpeg((120, 160), (90, 200, 90))),
        stored_photo(visit_a, clinician_a, areas=["arms"], data=images.png()),
        stored_photo(later, clinician_a, data=images.jpeg((200, 300), (220, 180, 170))),
    ]
    return consent_a.patient.clinic, photos


def _export(clinic, folder: Path) -> tuple[str, dict[str, bytes]]:
    call_command("export_cohort", "--clinic", clinic.name, "--with-photos", str(folder),
                 stderr=io.StringIO())
    text = (folder / "cohort.json").read_text(encoding="utf-8")
    files = {p.name: p.read_bytes() for p in folder.glob("*.jpg")}
    return text, files


def _empty_database_and_storage() -> None:
    Patient.objects.all().delete()  # visits, photographs, consents by cascade
    Clinic.objects.all().delete()
    storage = storages["photos"]
    for name in stored_names(storage):
        storage.delete(name)


def _nothing_written() -> None:
    assert Patient.objects.count() == 0
    assert Photo.objects.count() == 0 and PhotoConsent.objects.count() == 0
    assert stored_names(storages["photos"]) == set()


# -- the round trip ---------------------------------------------------------------


def test_export_with_photos_then_import_into_an_empty_database_gives_the_same_files_and_document(
    photographed, tmp_path
):
    clinic, photos = photographed
    text, files = _export(clinic, tmp_path / "first")
    doc = json.loads(text)
    (patient,) = doc["patients"]
    assert patient["photo_consent"] == {"level": "record", "date": "2025-01-06"}
    assert list(patient)[list(patient).index("photo_consent") + 1] == "courses" or "courses" not in patient
    first, second = patient["visits"]
    # Upload order kept; caption only where there is one; the file is named by the id.
    assert [p["id"] for p in first["photos"]] == [str(p.pk) for p in photos[:3]]
    assert first["photos"][0] == {
        "id": str(photos[0].pk), "areas": ["nose_malar"], "caption": "Malar rash, left",
        "sha256": photos[0].sha256, "file": f"{photos[0].pk}.jpg",
    }
    assert first["photos"][1]["areas"] == ["chest", "nose_malar"]
    assert [p["id"] for p in second["photos"]] == [str(photos[3].pk)]
    # The files are the stored full versions, byte for byte.
    assert {name: _sha(data) for name, data in files.items()} == {
        f"{p.pk}.jpg": p.sha256 for p in photos
    }

    _empty_database_and_storage()
    out = io.StringIO()
    call_command("import_cohort", str(tmp_path / "first" / "cohort.json"), stdout=out,
                 stderr=io.StringIO())
    assert "with 4 photographs" in out.getvalue()
    imported = {str(p.pk): p for p in Photo.objects.all()}
    assert set(imported) == {str(p.pk) for p in photos}
    storage = storages["photos"]
    for original in photos:
        again = imported[str(original.pk)]
        with storage.open(again.full_name) as handle:
            assert _sha(handle.read()) == original.sha256 == again.sha256
        # Screen and thumbnail versions made anew, the thumbnail within its side.
        with storage.open(again.thumb_name) as handle:
            from PIL import Image

            assert max(Image.open(handle).size) <= limits().thumb_side
        assert (again.width, again.height) == (original.width, original.height)
    assert PhotoConsent.objects.get().recorded_by is None  # the command line has no user

    text_again, files_again = _export(Clinic.objects.get(), tmp_path / "second")
    assert text_again == text
    assert files_again == files


def test_a_plain_export_carries_the_consent_but_no_photograph(photographed):
    clinic, _ = photographed
    (patient,) = export_document(clinic)["patients"]
    assert patient["photo_consent"] == {"level": "record", "date": "2025-01-06"}
    assert all("photos" not in visit for visit in patient["visits"])
    # ... so it imports anywhere, files or not, and the consent comes back.
    doc = export_document(clinic)
    _empty_database_and_storage()
    result = import_document(copy.deepcopy(doc))
    assert result.photos == 0
    assert export_document(result.clinic) == doc


def test_the_consent_note_travels(consent_a, clinician_a):
    from photos.services import record_consent

    record_consent(consent_a.patient, level="teaching", given_on=dt.date(2025, 3, 1),
                   recorded_by=clinician_a, note="signed form in the paper file")
    (patient,) = export_document(consent_a.patient.clinic)["patients"]
    assert patient["photo_consent"] == {"level": "teaching", "date": "2025-03-01",
                                        "note": "signed form in the paper file"}


def test_update_replaces_the_photographs_and_removes_the_old_files(
    photographed, tmp_path, django_capture_on_commit_callbacks
):
    clinic, photos = photographed
    _export(clinic, tmp_path)
    old_names = {n for p in photos for n in p.file_names()}
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_cohort", str(tmp_path / "cohort.json"), "--update",
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert Photo.objects.count() == 4 and PhotoConsent.objects.count() == 1
    new_names = {n for p in Photo.objects.all() for n in p.file_names()}
    assert stored_names(storages["photos"]) == new_names
    assert not (old_names & new_names)


# -- bad input: a clear message naming the path, nothing written -------------------


@pytest.fixture
def exported(photographed, tmp_path):
    """The exported document and folder, and an empty database."""
    clinic, photos = photographed
    _export(clinic, tmp_path)
    _empty_database_and_storage()
    doc = json.loads((tmp_path / "cohort.json").read_text(encoding="utf-8"))
    return doc, tmp_path, photos


def _refused(doc, folder, match: str) -> str:
    with pytest.raises(DocumentError) as caught:
        import_document(doc, photos_dir=folder)
    assert match in str(caught.value), str(caught.value)
    _nothing_written()
    return str(caught.value)


def test_photographs_without_consent_are_refused(exported):
    doc, folder, _ = exported
    del doc["patients"][0]["photo_consent"]
    message = _refused(doc, folder, "patients[0].visits[0].photos: ")
    assert "no photo_consent" in message


def test_photographs_with_consent_refused_are_refused(exported):
    doc, folder, _ = exported
    doc["patients"][0]["photo_consent"]["level"] = "none"
    _refused(doc, folder, 'patients[0].visits[0].photos: SYN-001\'s photo_consent is "none"')


def test_a_wrong_area_key_is_named(exported):
    doc, folder, _ = exported
    doc["patients"][0]["visits"][1]["photos"][0]["areas"] = ["nose_malar", "cheek"]
    _refused(doc, folder, 'patients[0].visits[1].photos[0].areas[1]: "cheek" is not one of')


def test_a_corrupt_image_is_named_by_its_path(exported):
    doc, folder, photos = exported
    (folder / f"{photos[1].pk}.jpg").write_bytes(b"this is not a photograph at all")
    _refused(doc, folder, f"patients[0].visits[0].photos[1].file: {folder / f'{photos[1].pk}.jpg'} "
                          "is not a JPEG, PNG or HEIC photograph")


def test_an_interrupted_copy_is_refused_as_incomplete(exported):
    doc, folder, photos = exported
    path = folder / f"{photos[3].pk}.jpg"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(doc, folder, f"patients[0].visits[1].photos[0].file: {path} is damaged or incomplete")


def test_a_missing_file_is_named(exported):
    doc, folder, photos = exported
    (folder / f"{photos[2].pk}.jpg").unlink()
    _refused(doc, folder, f"patients[0].visits[0].photos[2].file: {folder / f'{photos[2].pk}.jpg'} "
                          "does not exist")


def test_another_clean_photograph_under_the_name_is_a_hash_mismatch(exported):
    doc, folder, photos = exported
    other = imaging.clean(io.BytesIO(images.jpeg((80, 80), (1, 2, 3))), limits()).full.data
    (folder / f"{photos[0].pk}.jpg").write_bytes(other)
    _refused(doc, folder, "patients[0].visits[0].photos[0].file: ")
    with pytest.raises(DocumentError, match="does not match the document's sha256"):
        import_document(doc, photos_dir=folder)


def test_a_file_with_camera_metadata_is_refused_even_with_its_hash(exported):
    doc, folder, photos = exported
    tagged = images.jpeg(gps=True)
    (folder / f"{photos[0].pk}.jpg").write_bytes(tagged)
    doc["patients"][0]["visits"][0]["photos"][0]["sha256"] = _sha(tagged)
    _refused(doc, folder, "carries metadata (APP1, COM)")


def test_a_file_name_is_never_a_path(exported):
    doc, folder, _ = exported
    doc["patients"][0]["visits"][0]["photos"][0]["file"] = "../../etc/passwd"
    _refused(doc, folder, 'patients[0].visits[0].photos[0].file: "../../etc/passwd" does not have '
                          "the form")


def test_a_file_under_another_id_is_refused(exported):
    doc, folder, photos = exported
    doc["patients"][0]["visits"][0]["photos"][0]["file"] = f"{photos[1].pk}.jpg"
    _refused(doc, folder, f'patients[0].visits[0].photos[0].file: "{photos[1].pk}.jpg" is not')


def test_a_file_over_the_size_limit_is_refused_unread(exported, settings, monkeypatch):
    doc, folder, _ = exported
    settings.CLE_PHOTO_LIMITS = {**settings.CLE_PHOTO_LIMITS, "max_bytes": 1024}
    monkeypatch.setattr(imaging, "inspect", lambda *a: pytest.fail("the file was read"))
    message = _refused(doc, folder, "patients[0].visits[0].photos[0].file: ")
    assert "MB; the limit is" in message


def test_a_duplicate_id_is_named(exported):
    doc, folder, _ = exported
    photos = doc["patients"][0]["visits"]
    photos[1]["photos"][0] = copy.deepcopy(photos[0]["photos"][0])
    _refused(doc, folder, "patients[0].visits[1].photos[0].id: ")


def test_without_the_folder_the_document_is_refused_with_a_way_out(exported):
    doc, _, _ = exported
    with pytest.raises(DocumentError, match=r"patients\[0\]\.visits\[0\]\.photos\[0\]\.file: the "
                                            "document references photograph files; import it with"):
        import_document(doc)  # the browser's import: no folder of files
    _nothing_written()


def test_a_version_1_document_cannot_carry_photographs(exported):
    doc, folder, _ = exported
    doc["format"] = "cle-tracker/1"
    del doc["patients"][0]["courses"]
    for visit in doc["patients"][0]["visits"]:
        visit.pop("weight_kg", None)
    _refused(doc, folder, "patients[0].photo_consent: photo_consent belongs to cle-tracker/2")


def test_a_failure_while_writing_removes_the_files_already_stored(exported, monkeypatch):
    doc, folder, _ = exported
    from photos import exchange

    stored_before_failure = []

    def fail(rows, *args):
        stored_before_failure.extend(stored_names(storages["photos"]))
        raise RuntimeError("the database went away")

    monkeypatch.setattr(exchange, "_audit", fail)
    with pytest.raises(RuntimeError):
        import_document(doc, photos_dir=folder)
    assert len(stored_before_failure) == 12  # four photographs, three versions each
    _nothing_written()


def test_an_id_taken_in_this_database_is_named(exported, clinic_b, clinician_b):
    doc, folder, photos = exported
    import_document(copy.deepcopy(doc), photos_dir=folder)
    doc["clinic"] = clinic_b.name  # the same photographs into another clinic
    with pytest.raises(DocumentError, match=r"patients\[0\]\.visits\[0\]\.photos\[0\]\.id: a "
                                            "photograph .* exists already"):
        import_document(doc, photos_dir=folder)
    assert not Patient.objects.filter(clinic=clinic_b).exists()
    assert Photo.objects.count() == 4
    assert len(stored_names(storages["photos"])) == 12


def test_the_command_names_the_path_and_writes_nothing(exported):
    doc, folder, photos = exported
    (folder / f"{photos[3].pk}.jpg").unlink()
    with pytest.raises(CommandError, match=r"nothing imported\. patients\[0\]\.visits\[1\]\."
                                           r"photos\[0\]\.file: .* does not exist"):
        call_command("import_cohort", str(folder / "cohort.json"), stdout=io.StringIO(),
                     stderr=io.StringIO())
    _nothing_written()


def test_the_photos_option_names_another_folder(exported, tmp_path_factory):
    doc, folder, _ = exported
    elsewhere = tmp_path_factory.mktemp("document")
    (elsewhere / "cohort.json").write_text(json.dumps(doc), encoding="utf-8")
    call_command("import_cohort", str(elsewhere / "cohort.json"), "--photos", str(folder),
                 stdout=io.StringIO(), stderr=io.StringIO())
    assert Photo.objects.count() == 4


def test_the_schema_lists_the_instruments_areas_for_photographs():
    from clinical.instruments.clasi import CLASI
    from patients.exchange import schema

    assert schema()["$defs"]["photo"]["properties"]["areas"]["items"]["enum"] == list(CLASI.area_keys)


# -- the visits CSV --------------------------------------------------------------------


def test_the_csv_counts_each_visits_photographs_in_the_same_queries(
    photographed, django_assert_num_queries, clinician_a
):
    clinic, photos = photographed
    from patients.services import record_visit

    record_visit(photos[0].visit.patient, date=dt.date(2025, 6, 2))  # none at this one
    with django_assert_num_queries(8) as few:
        header, *rows = list(visit_rows(clinic))
    table = {row[header.index("date")]: row[header.index("photos")] for row in rows}
    assert table == {"2025-02-03": 3, "2025-05-05": 1, "2025-06-02": 0}
    for _ in range(10):
        stored_photo(photos[3].visit, clinician_a)
    with django_assert_num_queries(len(few.captured_queries)):
        header, *rows = list(visit_rows(clinic))
    assert {row[1]: row[header.index("photos")] for row in rows}["2025-05-05"] == 11


@pytest.mark.parametrize("day, message", [
    ("2999-01-01", "2999-01-01 is not a plausible date"),
    ((dt.date.today() + dt.timedelta(days=2)).isoformat(), "cannot be in the future"),
])
def test_a_consent_date_out_of_the_record_is_named(exported, day, message):
    doc, folder, _ = exported
    doc["patients"][0]["photo_consent"]["date"] = day
    _refused(doc, folder, "patients[0].photo_consent.date: ")
    with pytest.raises(DocumentError, match=message):
        import_document(doc, photos_dir=folder)


def test_the_import_is_in_the_patients_history(photographed, tmp_path, client_a):
    """Imported into the clinician's own clinic: the photographs' create entries
    (bulk writes send no signal) are on the patient's History page."""
    clinic, photos = photographed
    _export(clinic, tmp_path)
    Patient.objects.all().delete()
    for name in stored_names(storages["photos"]):
        storages["photos"].delete(name)
    doc = json.loads((tmp_path / "cohort.json").read_text(encoding="utf-8"))
    result = import_document(doc, clinic=clinic, photos_dir=tmp_path, source="cohort.json")
    assert result.photos == 4
    from django.urls import reverse

    patient = Patient.objects.get()
    page = client_a.get(reverse("patients:history", args=[patient.pk]))
    assert page.status_code == 200
    assert page.content.decode().count("imported with its file") == 4


def test_exported_photographs_are_readable_by_their_owner_only(photographed, tmp_path):
    clinic, photos = photographed
    _export(clinic, tmp_path)
    modes = {(tmp_path / f"{p.pk}.jpg").stat().st_mode & 0o777 for p in photos}
    assert modes == {0o600}
    assert not list(tmp_path.glob("*.part"))
