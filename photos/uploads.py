"""Upload limits enforced while the request body is read, not after.

`refuse_oversized_request` looks at Content-Length before anything is read;
`PhotoSizeLimit` (first in the request's upload handlers) counts each file's
bytes as they arrive and stops reading the body the moment one file passes
the limit, so a 60 MB file is never read whole, held in memory or spooled to
disk.
"""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

# Room for the form's other fields and the multipart boundaries.
FORM_OVERHEAD = 256 * 1024


def request_limit(limits: dict) -> int:
    return limits["max_bytes"] * limits["max_files"] + FORM_OVERHEAD


def declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class PhotoSizeLimit(FileUploadHandler):
    """Stops the upload when one file passes `max_bytes` (checked chunk by chunk)."""

    def __init__(self, max_bytes: int, request=None) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        self.too_large: tuple[str, str] | None = None  # (field, file name)
        # A file whose part never ended: the client stopped sending half-way.
        self.interrupted: tuple[str, str] | None = None

    def new_file(self, field_name, file_name, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.too_large = (self.field_name, self.file_name or "")
            # connection_reset: Django does not read (drain) the rest of the body.
            raise StopUpload(connection_reset=True)
        return raw_data  # the next handler (memory or temporary file) keeps it

    def upload_interrupted(self) -> None:
        self.interrupted = (self.field_name, self.file_name or "")

    def file_complete(self, file_size: int):
        return None  # not this handler's job: the next one returns the file
