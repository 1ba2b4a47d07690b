"""Uploading at a visit: by content not name, limits before reading or decoding,
consent first, clear messages naming the field, nothing written on error."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import storages
from django.test import Client
from django.urls import reverse
from PIL import Image

from photos.models import Photo
from tests.photos import images
from tests.photos.conftest import upload

pytestmark = pytest.mark.django_db


def _post(client, visit, rows: list[dict]):
    data = {"rows": str(max(len(rows), 1))}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"photo-{i}-{key}"] = value
    return client.post(reverse("photos:visit", args=[visit.pk]), data)


def _nothing_written():
    assert Photo.objects.count() == 0
    from photos.management.commands.photo_orphans import stored_names

    assert stored_names(storages["photos"]) == set()


def test_upload_stores_three_clean_versions(client_a, consent_a, visit_a):
    response = _post(client_a, visit_a, [
        {"file": upload("malar.jpg", images.jpeg(gps=True)), "areas": ["nose_malar", "ears"],
         "caption": "Butterfly rash"},
        {"file": upload("hand.png", images.png(), "image/png"), "areas": ["hands"]},
    ])
    assert response.status_code == 302, response.content.decode()[:2000]
    photos = list(Photo.objects.order_by("caption"))
    assert [p.areas for p in photos] == [["hands"], ["nose_malar", "ears"]]
    assert [p.source_format for p in photos] == ["PNG", "JPEG"]
    storage = storages["photos"]
    for photo in photos:
        for name in photo.file_names():
            with storage.open(name) as handle:
                data = handle.read()
            assert Image.open(io.BytesIO(data)).getexif() == {}
            assert images.SERIAL.encode() not in data
            # Random names: nothing of the patient, the visit or the upload's name.
            assert "malar" not in name and "SYN" not in name and name.endswith(".jpg")


def test_a_png_named_jpg_is_handled_by_content(client_a, consent_a, visit_a):
    response = _post(client_a, visit_a, [{"file": upload("really-a-png.jpg", images.png()),
                                          "areas": ["chest"]}])
    assert response.status_code == 302
    assert Photo.objects.get().source_format == "PNG"


def test_a_text_file_named_jpg_is_refused_naming_the_field(client_a, consent_a, visit_a):
    response = _post(client_a, visit_a, [{"file": upload("notes.jpg", b"just some text\n" * 50),
                                          "areas": ["chest"]}])
    assert response.status_code == 400
    page = response.content.decode()
    assert "Photograph 1: notes.jpg is not a JPEG, PNG or HEIC photograph" in page
    _nothing_written()


def test_no_consent_refuses_the_upload(client_a, visit_a):
    response = _post(client_a, visit_a, [{"file": upload("a.jpg", images.jpeg()),
                                          "areas": ["chest"]}])
    assert response.status_code == 400
    assert "Consent: SYN-001 has no photographic consent on record" in response.content.decode()
    _nothing_written()


def test_consent_withdrawn_refuses_the_upload(client_a, consent_a, visit_a, clinician_a):
    from photos.services import record_consent

    record_consent(consent_a.patient, level="none", given_on=consent_a.given_on,
                   recorded_by=clinician_a)
    response = _post(client_a, visit_a, [{"file": upload("a.jpg", images.jpeg()),
                                          "areas": ["chest"]}])
    assert response.status_code == 400
    assert "no photograph may be added" in response.content.decode()
    _nothing_written()


def test_a_wrong_area_key_is_named(client_a, consent_a, visit_a):
    response = _post(client_a, visit_a, [{"file": upload("a.jpg", images.jpeg()),
                                          "areas": ["nose_malar", "elbow"]}])
    assert response.status_code == 400
    assert "CLASI areas of photograph 1: “elbow” is not a CLASI area" in response.content.decode()
    _nothing_written()


def test_the_service_refuses_a_wrong_area_key_too(consent_a, visit_a, clinician_a):
    from django.core.exceptions import ValidationError

    from photos.services import PhotoInput, upload_photos

    with pytest.raises(ValidationError) as caught:
        upload_photos(visit_a, [PhotoInput("photo-0", upload("a.jpg", images.jpeg()), ["elbow"])],
                      uploaded_by=clinician_a)
    assert "photo-0-areas" in caught.value.message_dict
    _nothing_written()


def test_a_photo_without_area_is_refused(client_a, consent_a, visit_a):
    response = _post(client_a, visit_a, [{"file": upload("a.jpg", images.jpeg())}])
    assert response.status_code == 400
    assert "Choose at least one CLASI area" in response.content.decode()
    _nothing_written()


def test_one_corrupt_image_refuses_the_whole_upload(client_a, consent_a, visit_a):
    good = images.jpeg()
    broken = images.jpeg(size=(400, 300))
    response = _post(client_a, visit_a, [
        {"file": upload("good.jpg", good), "areas": ["chest"]},
        {"file": upload("broken.jpg", broken[: len(broken) // 2]), "areas": ["chest"]},
    ])
    assert response.status_code == 400
    assert "Photograph 2: broken.jpg is damaged or incomplete" in response.content.decode()
    _nothing_written()


def test_no_file_at_all_says_so(client_a, consent_a, visit_a):
    response = _post(client_a, visit_a, [{}])
    assert response.status_code == 400
    assert "Photographs: Choose at least one photograph" in response.content.decode()


def test_a_failure_while_storing_leaves_no_file(consent_a, visit_a, clinician_a, monkeypatch):
    from photos import services

    calls = {"n": 0}
    real_create = Photo.objects.create

    def create_then_fail(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return real_create(**kwargs)

    monkeypatch.setattr(Photo.objects, "create", create_then_fail)
    inputs = [services.PhotoInput(f"photo-{i}", upload("a.jpg", images.jpeg()), ["chest"])
              for i in range(2)]
    with pytest.raises(RuntimeError):
        services.upload_photos(visit_a, inputs, uploaded_by=clinician_a)
    _nothing_written()


# -- the request body: refused before it is read whole -------------------------------------


class CountingBody:
    """A request body made on the fly, counting what the server reads of it."""

    def __init__(self, head: bytes, size: int, tail: bytes, *, forbid_reading: bool = False):
        self.parts = [head, size, tail]
        self.length = len(head) + size + len(tail)
        self.served = 0
        self.forbid_reading = forbid_reading

    def read(self, n: int = -1) -> bytes:
        if self.forbid_reading:
            raise AssertionError("the body was read")
        if n is None or n < 0:
            n = self.length - self.served
        n = min(n, self.length - self.served)
        out = bytearray()
        head, size, tail = self.parts
        while len(out) < n:
            pos = self.served + len(out)
            if pos < len(head):
                out += head[pos:pos + n - len(out)]
            elif pos < len(head) + size:
                out += b"\xff" * min(n - len(out), len(head) + size - pos)
            else:
                start = pos - len(head) - size
                out += tail[start:start + n - len(out)]
        self.served += len(out)
        return bytes(out)

    def readline(self, *args):  # pragma: no cover - multipart parsing reads by chunks
        return self.read(*args)


def _send(client: Client, url: str, body: CountingBody, boundary: str):
    environ = client._base_environ(
        PATH_INFO=url, REQUEST_METHOD="POST", CONTENT_LENGTH=str(body.length),
        CONTENT_TYPE=f"multipart/form-data; boundary={boundary}",
        **{"wsgi.input": body},
    )
    return client.handler(environ)


def _multipart(boundary: str, size: int, *, forbid_reading=False) -> CountingBody:
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"rows\"\r\n\r\n1\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo-0-areas\"\r\n\r\nchest\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo-0-file\"; "
            f"filename=\"huge.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return CountingBody(head, size, tail, forbid_reading=forbid_reading)


def test_a_60_mb_file_is_refused_without_reading_it_whole(client_a, consent_a, visit_a, settings):
    # The request (60 MB) is under the whole-upload limit (8 x 25 MB), so the
    # per-file guard has to stop it while reading.
    body = _multipart("XyZ", 60 * 1024 * 1024)
    response = _send(client_a, reverse("photos:visit", args=[visit_a.pk]), body, "XyZ")
    assert response.status_code == 413
    assert "huge.jpg is larger than 25 MB" in response.content.decode()
    limit = settings.CLE_PHOTO_LIMITS["max_bytes"]
    # Read: at most the limit plus one chunk of Django's parser (64 KB) and the head.
    assert body.served < limit + 2 * 64 * 1024 + 1024, body.served
    assert body.served < body.length / 2
    _nothing_written()


def test_an_oversized_request_is_refused_from_its_content_length(client_a, consent_a, visit_a):
    body = _multipart("XyZ", 300 * 1024 * 1024, forbid_reading=True)
    response = _send(client_a, reverse("photos:visit", args=[visit_a.pk]), body, "XyZ")
    assert response.status_code == 413
    assert "the upload is 300 MB" in response.content.decode()
    _nothing_written()


def test_an_upload_interrupted_half_way_writes_nothing(client_a, consent_a, visit_a):
    boundary = "XyZ"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"rows\"\r\n\r\n1\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo-0-areas\"\r\n\r\nchest\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo-0-file\"; "
            f"filename=\"cut.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    photo = images.jpeg(size=(300, 200))
    sent = head + photo[: len(photo) // 2]  # the connection drops here

    class Cut(io.BytesIO):
        pass

    environ = client_a._base_environ(
        PATH_INFO=reverse("photos:visit", args=[visit_a.pk]), REQUEST_METHOD="POST",
        CONTENT_LENGTH=str(len(head) + len(photo) + 40),  # what the client announced
        CONTENT_TYPE=f"multipart/form-data; boundary={boundary}", **{"wsgi.input": Cut(sent)},
    )
    response = client_a.handler(environ)
    assert response.status_code == 400
    page = response.content.decode()
    assert "the upload of cut.jpg was interrupted before it was complete; nothing was saved" in page
    _nothing_written()


def test_a_20000_pixel_square_is_refused_through_the_page_without_decoding(
    client_a, consent_a, visit_a, monkeypatch
):
    from PIL import ImageFile

    def fail(self, *args, **kwargs):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)
    monkeypatch.setattr(Image.Image, "load", fail)
    response = _post(client_a, visit_a, [{"file": upload("bomb.png", images.png_header_only(
        20_000, 20_000), "image/png"), "areas": ["chest"]}])
    assert response.status_code == 400
    page = response.content.decode()
    assert "Photograph 1: bomb.png" in page and "pixels" in page
    _nothing_written()


def test_a_body_cut_before_its_closing_boundary_writes_nothing(client_a, consent_a, visit_a):
    """The client stopped half-way through the file and the proxy closed the body
    there (Content-Length says what arrived): the part never ended."""
    boundary = "XyZ"
    photo = images.jpeg(size=(300, 200))
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"rows\"\r\n\r\n1\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo-0-areas\"\r\n\r\nchest\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo-0-file\"; "
            f"filename=\"half.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    body += photo[: len(photo) // 2]
    environ = client_a._base_environ(
        PATH_INFO=reverse("photos:visit", args=[visit_a.pk]), REQUEST_METHOD="POST",
        CONTENT_LENGTH=str(len(body)), CONTENT_TYPE=f"multipart/form-data; boundary={boundary}",
        **{"wsgi.input": io.BytesIO(body)},
    )
    response = client_a.handler(environ)
    assert response.status_code == 400
    page = response.content.decode()
    # Django's parser reports the part that never ended (photos.uploads.PhotoSizeLimit).
    assert "the upload of half.jpg was interrupted before it was complete; nothing was saved" in page
    _nothing_written()
