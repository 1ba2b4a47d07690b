"""The clinical record: patients, visits, lenalidomide courses, labs and events.

Vocabularies follow ../shared/docs/exchange-format.md so that the record can
hold everything a `cle-tracker/1` document carries. Every primary key is a
UUID: URLs never reveal sequential ids or the size of a clinic.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from clinic.models import Clinic


def _choices_values(choices: type[models.TextChoices]) -> list[str]:
    return [c.value for c in choices]


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "X", "Other / not stated"


class CleSubtype(models.TextChoices):
    ACLE = "ACLE", "Acute CLE"
    SCLE = "SCLE", "Subacute CLE"
    DLE = "DLE", "Discoid LE"
    TUMID = "tumid", "Tumid LE"
    PROFUNDUS = "profundus", "LE profundus (panniculitis)"
    CHILBLAIN = "chilblain", "Chilblain LE"
    OTHER = "other", "Other"


class Drug(models.TextChoices):
    LENALIDOMIDE = "lenalidomide", "Lenalidomide"


class StopReason(models.TextChoices):
    REMISSION = "remission", "Remission"
    ADVERSE_EVENT = "adverse_event", "Adverse event"
    INEFFICACY = "inefficacy", "Inefficacy"
    PATIENT_CHOICE = "patient_choice", "Patient's choice"
    PREGNANCY_WISH = "pregnancy_wish", "Pregnancy wish"
    OTHER = "other", "Other"


class LabTest(models.TextChoices):
    ANTI_DSDNA = "anti_dsdna", "Anti-dsDNA"
    C3 = "c3", "C3"
    C4 = "c4", "C4"
    ANC = "anc", "Neutrophils (ANC)"
    PLATELETS = "platelets", "Platelets"
    WBC = "wbc", "White cells"
    HEMOGLOBIN = "hemoglobin", "Haemoglobin"
    CREATININE = "creatinine", "Creatinine"
    URINE_PROTEIN = "urine_protein", "Urine protein"
    PREGNANCY = "pregnancy", "Pregnancy test"


class PregnancyResult(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"


class AuditedRecord(models.Model):
    """Links every audit entry of a clinical record to its patient.

    django-auditlog stores `get_additional_data()` with each entry, so the
    patient's history page finds the entries of visits, labs and courses
    with one indexed query instead of walking every content type.
    """

    class Meta:
        abstract = True

    def audit_patient_id(self) -> uuid.UUID:
        raise NotImplementedError

    def get_additional_data(self) -> dict[str, str]:
        return {"patient": str(self.audit_patient_id())}


class Patient(AuditedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    code = models.CharField(
        max_length=64, help_text="The clinic's own identifier: record number or study code."
    )
    name = models.CharField(max_length=200, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices)
    birth_date = models.DateField(null=True, blank=True)
    cle_subtypes = models.JSONField(default=list, blank=True)
    sle = models.BooleanField("SLE", default=False)
    sle_diagnosed = models.DateField("SLE diagnosed on", null=True, blank=True)
    reproductive_potential = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "code"], name="patient_code_unique_in_clinic"),
            models.CheckConstraint(
                condition=Q(sex__in=_choices_values(Sex)), name="patient_sex_valid"
            ),
            models.CheckConstraint(condition=~Q(code=""), name="patient_code_not_empty"),
            # A diagnosis date only makes sense for a patient recorded with SLE.
            models.CheckConstraint(
                condition=Q(sle=True) | Q(sle_diagnosed__isnull=True),
                name="patient_sle_date_needs_sle",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()

    def audit_patient_id(self) -> uuid.UUID:
        return self.id

    def get_additional_data(self) -> dict[str, str]:
        # The code names the patient in the audit once the record is deleted.
        return {**super().get_additional_data(), "code": self.code}


class Visit(AuditedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="visits")
    date = models.DateField()
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visits_seen",
        help_text="Who examined the patient.",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "date"]
        constraints = [
            # One examination per day: the trend and the flare rules compare days.
            models.UniqueConstraint(fields=["patient", "date"], name="one_visit_per_patient_day"),
        ]

    def __str__(self) -> str:
        return f"{self.patient.code} visit {self.date.isoformat()}"

    def audit_patient_id(self) -> uuid.UUID:
        return self.patient_id


class Course(AuditedRecord):
    """A lenalidomide course; `end` is the withdrawal date."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="courses")
    drug = models.CharField(max_length=32, choices=Drug.choices, default=Drug.LENALIDOMIDE)
    start = models.DateField()
    end = models.DateField("withdrawal", null=True, blank=True)
    stop_reason = models.CharField(max_length=32, choices=StopReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="course_ends_on_or_after_start",
            ),
            models.CheckConstraint(
                condition=Q(drug__in=_choices_values(Drug)), name="course_drug_valid"
            ),
            models.CheckConstraint(
                condition=Q(stop_reason="") | Q(stop_reason__in=_choices_values(StopReason)),
                name="course_stop_reason_valid",
            ),
            # A course still running has no reason to have stopped.
            models.CheckConstraint(
                condition=Q(end__isnull=False) | Q(stop_reason=""),
                name="course_stop_reason_only_when_ended",
            ),
            models.UniqueConstraint(fields=["patient", "start"], name="one_course_start_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} from {self.start.isoformat()}"

    @property
    def is_ongoing(self) -> bool:
        return self.end is None

    def audit_patient_id(self) -> uuid.UUID:
        return self.patient_id


class DoseStep(AuditedRecord):
    """From `date` on, `mg` every `every_days` days (1 daily, 2 alternate days)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="dose_steps")
    date = models.DateField()
    mg = models.DecimalField(max_digits=6, decimal_places=2)
    every_days = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["course", "date"]
        constraints = [
            models.UniqueConstraint(fields=["course", "date"], name="one_dose_step_per_course_day"),
            models.CheckConstraint(condition=Q(mg__gt=0), name="dose_mg_positive"),
            models.CheckConstraint(condition=Q(every_days__gte=1), name="dose_every_days_at_least_1"),
        ]

    def __str__(self) -> str:
        return f"{self.mg:g} mg every {self.every_days} day(s) from {self.date.isoformat()}"

    def audit_patient_id(self) -> uuid.UUID:
        return self.course.patient_id


class LabResult(AuditedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="labs")
    test = models.CharField(max_length=32, choices=LabTest.choices)
    # A number for every test but the pregnancy test, whose result is a word.
    value = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    result = models.CharField(max_length=16, choices=PregnancyResult.choices, blank=True)
    unit = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["visit", "test"]
        constraints = [
            models.CheckConstraint(
                condition=Q(test__in=_choices_values(LabTest)), name="lab_test_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        test=LabTest.PREGNANCY,
                        value__isnull=True,
                        result__in=_choices_values(PregnancyResult),
                    )
                    | (~Q(test=LabTest.PREGNANCY) & Q(value__isnull=False, result=""))
                ),
                name="lab_value_matches_test",
            ),
        ]

    def __str__(self) -> str:
        shown = self.result if self.test == LabTest.PREGNANCY else f"{self.value:g} {self.unit}"
        return f"{self.get_test_display()}: {shown}".strip()

    def audit_patient_id(self) -> uuid.UUID:
        return self.visit.patient_id


class AdverseEvent(AuditedRecord):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="adverse_events")
    term = models.CharField(max_length=200, help_text="CTCAE term, e.g. Neutrophil count decreased")
    grade = models.PositiveSmallIntegerField(help_text="CTCAE grade 1-5")

    class Meta:
        ordering = ["visit", "term"]
        constraints = [
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=5), name="ae_grade_1_to_5"),
            models.CheckConstraint(condition=~Q(term=""), name="ae_term_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.term} (grade {self.grade})"

    def audit_patient_id(self) -> uuid.UUID:
        return self.visit.patient_id
