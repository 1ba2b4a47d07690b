"""Photograph settings read from the environment (imported by clinic/settings.py).

CLE_PHOTOS_STORAGE     the storage class; default: local disk under CLE_PHOTOS_DIR.
                       For S3-compatible object storage install django-storages[s3]
                       (optional, not in requirements.txt) and set
                       CLE_PHOTOS_STORAGE=storages.backends.s3.S3Storage with
                       CLE_PHOTOS_S3_BUCKET, CLE_PHOTOS_S3_ENDPOINT (https://...),
                       CLE_PHOTOS_S3_REGION, CLE_PHOTOS_S3_ACCESS_KEY,
                       CLE_PHOTOS_S3_SECRET_KEY. The bucket must be private.
CLE_PHOTOS_DIR         local directory (default var/photos): never under STATIC_ROOT
                       or MEDIA_ROOT, never served by the web server.
CLE_PHOTO_MAX_MB       largest file accepted, in MB (default 25)
CLE_PHOTO_MAX_FILES    photographs in one upload (default 8)
CLE_PHOTO_MAX_MEGAPIXELS  largest image, from its header (default 50)
"""

from __future__ import annotations

from pathlib import Path

from clinic.env import env_int, env_str

LOCAL = "django.core.files.storage.FileSystemStorage"
S3 = "storages.backends.s3.S3Storage"


def photos_storage(base_dir: Path) -> dict:
    backend = env_str("CLE_PHOTOS_STORAGE", default=LOCAL)
    if backend == S3 or backend.startswith("storages."):
        return {
            "BACKEND": backend,
            "OPTIONS": {
                "bucket_name": env_str("CLE_PHOTOS_S3_BUCKET"),
                "endpoint_url": env_str("CLE_PHOTOS_S3_ENDPOINT", default="") or None,
                "region_name": env_str("CLE_PHOTOS_S3_REGION", default="") or None,
                "access_key": env_str("CLE_PHOTOS_S3_ACCESS_KEY", default="") or None,
                "secret_key": env_str("CLE_PHOTOS_S3_SECRET_KEY", default="") or None,
                "location": env_str("CLE_PHOTOS_S3_PREFIX", default="photos"),
                "default_acl": "private",
                "file_overwrite": False,
                "querystring_auth": True,
            },
        }
    location = Path(env_str("CLE_PHOTOS_DIR", default=str(base_dir / "var" / "photos")))
    return {
        "BACKEND": backend,
        "OPTIONS": {
            "location": str(location if location.is_absolute() else base_dir / location),
            # No URL: files are only ever sent by photos.views through clinic access.
            "base_url": "/no-public-url/",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }


def photo_limits() -> dict:
    return {
        "max_bytes": env_int("CLE_PHOTO_MAX_MB", 25) * 1024 * 1024,
        "max_files": env_int("CLE_PHOTO_MAX_FILES", 8),
        "max_pixels": env_int("CLE_PHOTO_MAX_MEGAPIXELS", 50) * 1_000_000,
        "max_side": 16_000,
        "screen_side": 1600,
        "thumb_side": 320,
    }
