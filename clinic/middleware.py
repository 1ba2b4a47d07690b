"""Response headers a clinical record needs beyond Django's own.

- `Cache-Control: no-store` on every response to a signed-in user: those are
  the responses that can carry patient data (pages, partials, exports, CSVs),
  and a shared workstation's browser cache or back button must not keep them.
  Static files never get here (WhiteNoise answers them earlier, cached for a
  year under hashed names).
- `Permissions-Policy`: the app uses no camera, microphone, location,
  payment, USB or sensors, so a script injected despite the CSP cannot either.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media",
        "fullscreen", "geolocation", "gyroscope", "magnetometer", "microphone", "midi",
        "payment", "picture-in-picture", "publickey-credentials-get", "screen-wake-lock",
        "serial", "usb", "xr-spatial-tracking",
    )
)


class ClinicalHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # never_cache: no-cache, no-store, must-revalidate, max-age=0, Expires;
            # private keeps any proxy between the clinic and the app from storing it.
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response


class RequestSizeLimitMiddleware:
    """Refuse a request body larger than settings.CLE_MAX_UPLOAD_BYTES from its
    Content-Length header, before any byte of it is read.

    It must sit before CsrfViewMiddleware: the CSRF check reads request.POST,
    which parses (and spools to disk) a whole multipart upload.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.template.loader import render_to_string

        if request.path.startswith(settings.CLE_OWN_UPLOAD_LIMIT_PATHS):
            # These views check Content-Length themselves, with their own limit and
            # words, before anything reads the body (photos: csrf_protect after
            # their upload handlers are set).
            return self.get_response(request)
        limit = settings.CLE_MAX_UPLOAD_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads nothing from a body whose length it cannot parse
        if length > limit:
            megabytes = limit // (1024 * 1024)
            html = render_to_string(
                "too_large.html", {"limit_mb": megabytes, "size_mb": -(-length // (1024 * 1024))}
            )
            response = HttpResponse(html, status=413)
            # The client may still be sending: close rather than read the rest.
            response["Connection"] = "close"
            return response
        return self.get_response(request)
