"""The small hooks other pages include: the visit page's photo strip (one query)."""

from django import template

from clinic.access import can_write
from photos.selectors import visit_photos

register = template.Library()


@register.inclusion_tag("photos/_visit_photo_strip.html")
def visit_photo_strip(visit):
    return {"visit": visit, "photos": visit_photos(visit), "can_write": can_write(visit)}
