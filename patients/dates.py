"""The span of dates the record accepts.

A year typed as 0024 instead of 2024 is a typo, not history: every date that
enters the record (forms, services, imports, report dates) must fall within
this span, so no later arithmetic on it (a 44-week watch, a 30-day look-back)
can run off the calendar.
"""

from __future__ import annotations

import datetime as dt

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2100, 12, 31)


def implausible(day: dt.date | None) -> str | None:
    """A message when `day` is outside the span, else None."""
    if day is None or EARLIEST <= day <= LATEST:
        return None
    return f"{day.isoformat()} is not a plausible date (years {EARLIEST.year}-{LATEST.year})."


def validate_plausible(day: dt.date | None) -> None:
    """A Django field validator for the same rule."""
    from django.core.exceptions import ValidationError

    message = implausible(day)
    if message:
        raise ValidationError(message, code="implausible_date")
