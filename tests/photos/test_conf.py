"""The photographs' storage settings: private local disk by default, S3 by setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from photos.conf import photos_storage


def test_the_default_is_a_private_directory_outside_static_and_media(monkeypatch):
    monkeypatch.delenv("CLE_PHOTOS_STORAGE", raising=False)
    monkeypatch.delenv("CLE_PHOTOS_DIR", raising=False)
    config = photos_storage(Path(settings.BASE_DIR))
    location = Path(config["OPTIONS"]["location"])
    assert location == Path(settings.BASE_DIR) / "var" / "photos"
    for public in (settings.STATIC_ROOT, *settings.STATICFILES_DIRS):
        assert not location.is_relative_to(public)
    if settings.MEDIA_ROOT:
        assert not location.is_relative_to(settings.MEDIA_ROOT)
    assert config["OPTIONS"]["file_permissions_mode"] == 0o600
    assert config["OPTIONS"]["directory_permissions_mode"] == 0o700


def test_s3_compatible_storage_by_setting(monkeypatch):
    monkeypatch.setenv("CLE_PHOTOS_STORAGE", "storages.backends.s3.S3Storage")
    monkeypatch.setenv("CLE_PHOTOS_S3_BUCKET", "clinic-photos")
    monkeypatch.setenv("CLE_PHOTOS_S3_ENDPOINT", "https://objects.example.org")
    options = photos_storage(Path("/srv/app"))["OPTIONS"]
    assert options["bucket_name"] == "clinic-photos"
    assert options["endpoint_url"] == "https://objects.example.org"
    assert options["default_acl"] == "private" and options["file_overwrite"] is False


def test_s3_without_a_bucket_stops_the_start(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("CLE_PHOTOS_STORAGE", "storages.backends.s3.S3Storage")
    monkeypatch.delenv("CLE_PHOTOS_S3_BUCKET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="CLE_PHOTOS_S3_BUCKET"):
        photos_storage(Path("/srv/app"))


@pytest.mark.django_db
def test_on_local_disk_files_are_private_served_and_removed(
    client_a, consent_a, visit_a, clinician_a, settings, tmp_path, monkeypatch,
    django_capture_on_commit_callbacks,
):
    from django.urls import reverse

    from tests.photos.conftest import stored_photo

    monkeypatch.setenv("CLE_PHOTOS_DIR", str(tmp_path / "photos"))
    settings.STORAGES = {**settings.STORAGES, "photos": photos_storage(tmp_path)}
    photo = stored_photo(visit_a, clinician_a)
    files = [tmp_path / "photos" / name for name in photo.file_names()]
    assert all(f.is_file() and (f.stat().st_mode & 0o777) == 0o600 for f in files)
    response = client_a.get(reverse("photos:full", args=[photo.pk]))
    assert b"".join(response.streaming_content) == files[0].read_bytes()
    with django_capture_on_commit_callbacks(execute=True):
        client_a.post(reverse("patients:visit_delete", args=[visit_a.pk]))
    assert not any(f.exists() for f in files)
