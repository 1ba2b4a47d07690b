"""Registers the clinical records with django-auditlog.

Every create, update and delete of these models is logged with the user
(set by AuditlogMiddleware) and the changed fields; openings of a patient's
record are logged as accesses by the patient page (see patients.views).
"""

from auditlog.registry import auditlog

from patients.models import (
    AdverseEvent,
    Course,
    DoseStep,
    Interruption,
    LabResult,
    Patient,
    Visit,
)

for model in (Patient, Visit, Course, DoseStep, Interruption, LabResult, AdverseEvent):
    auditlog.register(model)
