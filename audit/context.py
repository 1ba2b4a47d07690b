"""The request an audit entry is written for (who, from where), per request.

AuditContextMiddleware sets it; entries written outside a request (commands,
imports from the shell) have no actor unless one is given.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from django.http import HttpRequest

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


def current_request() -> HttpRequest | None:
    return _request.get()


@contextlib.contextmanager
def request_context(request: HttpRequest):
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


class AuditContextMiddleware:
    """Replaces django-auditlog's middleware, which stored any client's
    X-Forwarded-For as the address (and answered 500 when it was not one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        with request_context(request):
            return self.get_response(request)
