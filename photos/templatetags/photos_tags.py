"""The small hooks other pages include: the visit page's photo strip (two
queries) and the patient page's recent thumbnails (one query)."""

from django import template
from django.core.exceptions import ObjectDoesNotExist

from clinic.access import can_write
from photos.selectors import consent_of, recent_photos, visit_photos

register = template.Library()


@register.inclusion_tag("photos/_visit_photo_strip.html")
def visit_photo_strip(visit):
    photos = visit_photos(visit)
    return {"visit": visit, "photos": photos, "can_write": can_write(visit),
            "consent": consent_of(visit.patient) if photos else None}


@register.inclusion_tag("photos/_patient_recent_photos.html")
def patient_recent_photos(patient):
    """The patient's latest thumbnails. The consent comes with the patient
    (the patient page selects `photo_consent` with it): no query of its own."""
    photos, more = recent_photos(patient)
    try:
        consent = patient.photo_consent
    except ObjectDoesNotExist:
        consent = None
    return {"patient": patient, "photos": photos, "more": more, "consent": consent}
