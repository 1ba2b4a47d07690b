"""Consent and photograph rows are audited like the rest of the record; every
opening of a photograph file is logged as an access (photos.views)."""

from auditlog.registry import auditlog

from photos.models import Photo, PhotoConsent

auditlog.register(PhotoConsent)
# File names are random storage keys: nothing a reader of the history needs.
auditlog.register(Photo, exclude_fields=["full_name", "screen_name", "thumb_name", "sha256"])
