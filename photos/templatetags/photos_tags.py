"""The small hooks other pages include: the visit page's photo strip (two queries)."""

from django import template

from clinic.access import can_write
from photos.selectors import consent_of, visit_photos

register = template.Library()


@register.inclusion_tag("photos/_visit_photo_strip.html")
def visit_photo_strip(visit):
    photos = visit_photos(visit)
    return {"visit": visit, "photos": photos, "can_write": can_write(visit),
            "consent": consent_of(visit.patient) if photos else None}
