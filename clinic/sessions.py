"""Idle sign-out and the hard limit of a session.

A session unused for CLE_IDLE_SECONDS, or older than CLE_SESSION_MAX_SECONDS
since its sign-in, is ended at the next request: the user is signed out (an
audit entry says why) and sent to the sign-in page with a message. The
session is written back at most once a minute, not on every request.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.contrib.auth.views import redirect_to_login
from django_htmx.http import HttpResponseClientRedirect

SIGNED_IN_AT = "cle_signed_in_at"
SEEN_AT = "cle_seen_at"
# Activity is stamped at this resolution: one session write a minute at most.
_STAMP_EVERY = 60


@receiver(user_logged_in, dispatch_uid="session_limits_start")
def _start(sender, request, user, **kwargs) -> None:
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now


def expired(session, now: float) -> str | None:
    """Why the session must end now, or None."""
    signed_in = session.get(SIGNED_IN_AT)
    seen = session.get(SEEN_AT)
    if signed_in is None or seen is None:
        return "session without a sign-in time"
    if now - signed_in >= settings.CLE_SESSION_MAX_SECONDS:
        return f"session limit of {settings.CLE_SESSION_MAX_SECONDS // 3600} hours"
    if now - seen >= settings.CLE_IDLE_SECONDS:
        return f"{settings.CLE_IDLE_SECONDS // 60} minutes without activity"
    return None


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            reason = expired(request.session, now)
            if reason is not None:
                request.audit_sign_out_reason = reason
                logout(request)
                messages.info(request, f"You were signed out after {reason}. Sign in again.")
                return _to_sign_in(request)
            if now - request.session[SEEN_AT] >= _STAMP_EVERY:
                request.session[SEEN_AT] = int(now)
        return self.get_response(request)


def _to_sign_in(request: HttpRequest) -> HttpResponse:
    response = redirect_to_login(request.get_full_path())
    if request.headers.get("HX-Request") == "true":
        # An htmx swap would put the sign-in page inside the page: reload instead.
        return HttpResponseClientRedirect(response["Location"])
    return response
