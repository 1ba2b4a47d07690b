"""How a CLASI score reads on screen (the rule itself lives in patients.selectors)."""

from __future__ import annotations

from django import template

from patients.selectors import Reading, activity_reading

register = template.Library()


@register.filter
def reading(activity: int | None) -> Reading | None:
    """``{% with r=a.activity|reading %}<span class="badge {{ r.key }}">{{ r.label }}</span>``"""
    return None if activity is None else activity_reading(activity)
