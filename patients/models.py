"""The clinical record: patients, visits, courses of every treatment, labs and events.

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
from clinical.drugs.registry import DRUGS
from clinical.labs import LABS


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


# The drug registry (clinical/drugs) is the one list of drugs; the column's choices follow it.
Drug = models.TextChoices(
    "Drug", [(key.upper(), (key, profile.label)) for key, profile in DRUGS.items()]
)


class StopReason(models.TextChoices):
    REMISSION = "remission", "Remission"
    ADVERSE_EVENT = "adverse_event", "Adverse event"
    INEFFICACY = "inefficacy", "Inefficacy"
    PATIENT_CHOICE = "patient_choice", "Patient's choice"
    PREGNANCY_WISH = "pregnancy_wish", "Pregnancy wish"
    RELAPSE = "relapse", "Relapse"
    OTHER = "other", "Other"


# The lab table (clinical/labs.py, clasi.md 5.5) is the one list of tests, in form order.
LabTest = models.TextChoices("LabTest", [(key.upper(), (key, lab.label)) for key, lab in LABS.items()])


class Antiphospholipid(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    UNKNOWN = "unknown", "Unknown"


class PregnancyResult(models.TextChoices):
    NEGATIVE = "negative", "Negative"
    POSITIVE = "positive", "Positive"


class AeAttribution(models.TextChoices):
    """How likely the drug caused the event (exchange-format.md, adverse events)."""

    UNRELATED = "unrelated", "Unrelated"
    UNLIKELY = "unlikely", "Unlikely"
    POSSIBLE = "possible", "Possible"
    PROBABLE = "probable", "Probable"
    DEFINITE = "definite", "Definite"


class AeAction(models.TextChoices):
    """What was done with the drug because of the event."""

    NONE = "none", "None"
    DOSE_REDUCED = "dose_reduced", "Dose reduced"
    INTERRUPTED = "interrupted", "Interrupted"
    WITHDRAWN = "withdrawn", "Withdrawn"


# The term of an event that is not on the CTCAE list; its words go in `term_other`.
AE_OTHER = "other"


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
    # Thrombosis and neuropathy history (clasi.md 5.4); None means not known.
    history_vte = models.BooleanField("history of VTE", null=True, blank=True)
    history_antiphospholipid = models.CharField(
        "antiphospholipid antibodies", max_length=16, choices=Antiphospholipid.choices, blank=True
    )
    history_oestrogen_contraception = models.BooleanField(
        "oestrogen-containing contraception", null=True, blank=True
    )
    history_thalidomide_neuropathy = models.BooleanField(
        "neuropathy on thalidomide", null=True, blank=True
    )
    history_note = models.TextField("history note", blank=True)
    # The edit-form version (patients/concurrency.py): bumped by every service write of
    # this record or of what its edit form shows, checked under the row lock.
    version = models.PositiveIntegerField(default=1, editable=False)
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
            models.CheckConstraint(
                condition=Q(history_antiphospholipid="")
                | Q(history_antiphospholipid__in=_choices_values(Antiphospholipid)),
                name="patient_antiphospholipid_valid",
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
    weight_kg = models.DecimalField(
        "weight (kg)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    note = models.TextField(blank=True)
    # The edit-form version (patients/concurrency.py): bumped by every service write of
    # this record or of what its edit form shows, checked under the row lock.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["patient", "date"]
        constraints = [
            # One examination per day: the trend and the flare rules compare days.
            models.UniqueConstraint(fields=["patient", "date"], name="one_visit_per_patient_day"),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gt=0),
                name="visit_weight_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient.code} visit {self.date.isoformat()}"

    def audit_patient_id(self) -> uuid.UUID:
        return self.patient_id


class Course(AuditedRecord):
    """A course of one drug of the registry; `end` is the withdrawal date."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="courses")
    drug = models.CharField(max_length=32, choices=Drug.choices, default=Drug.LENALIDOMIDE)
    # The drug's name when `drug` is `other`; blank for every registry drug.
    drug_name = models.CharField(max_length=100, blank=True)
    start = models.DateField()
    end = models.DateField("withdrawal", null=True, blank=True)
    stop_reason = models.CharField(max_length=32, choices=StopReason.choices, blank=True)
    # The edit-form version (patients/concurrency.py): bumped by every service write of
    # this record or of what its edit form shows, checked under the row lock.
    version = models.PositiveIntegerField(default=1, editable=False)
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
            models.CheckConstraint(
                condition=(Q(drug="other") & ~Q(drug_name="")) | (~Q(drug="other") & Q(drug_name="")),
                name="course_drug_name_only_for_other",
            ),
            # Concomitant courses of different drugs may start on one day; one drug may not.
            models.UniqueConstraint(
                fields=["patient", "drug", "drug_name", "start"], name="one_course_start_per_drug_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug_label} from {self.start.isoformat()}"

    @property
    def drug_label(self) -> str:
        return self.drug_name if self.drug == Drug.OTHER else self.get_drug_display()

    @property
    def is_ongoing(self) -> bool:
        return self.end is None

    @property
    def is_watched(self) -> bool:
        """A drug whose withdrawal the flare rules watch (clasi.md section 3)."""
        return DRUGS[self.drug].watched

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


class Interruption(AuditedRecord):
    """A hold within a course (planned resumption): neither a withdrawal nor a reduction.

    `end` is the day the drug was resumed; None while still on hold.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="interruptions")
    start = models.DateField()
    end = models.DateField("resumed", null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="interruption_ends_on_or_after_start",
            ),
            models.UniqueConstraint(fields=["course", "start"], name="one_interruption_start_per_day"),
        ]

    def __str__(self) -> str:
        until = self.end.isoformat() if self.end else "on hold"
        return f"Interrupted {self.start.isoformat()} - {until}"

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
    # The event in words when `term` is "other" (not on the CTCAE list); blank otherwise.
    term_other = models.CharField("other event", max_length=200, blank=True)
    grade = models.PositiveSmallIntegerField(help_text="CTCAE grade 1-5")
    attribution = models.CharField(max_length=16, choices=AeAttribution.choices, blank=True)
    action = models.CharField("action taken", max_length=16, choices=AeAction.choices, blank=True)

    class Meta:
        ordering = ["visit", "term"]
        constraints = [
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=5), name="ae_grade_1_to_5"),
            models.CheckConstraint(condition=~Q(term=""), name="ae_term_not_empty"),
            models.CheckConstraint(
                condition=~Q(term=AE_OTHER) | ~Q(term_other=""), name="ae_other_needs_words"
            ),
            models.CheckConstraint(
                condition=Q(attribution="") | Q(attribution__in=_choices_values(AeAttribution)),
                name="ae_attribution_valid",
            ),
            models.CheckConstraint(
                condition=Q(action="") | Q(action__in=_choices_values(AeAction)),
                name="ae_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.term_text} (grade {self.grade})"

    @property
    def term_text(self) -> str:
        """The CTCAE term, or "Other: <words>"."""
        return f"Other: {self.term_other}" if self.term == AE_OTHER else self.term

    def audit_patient_id(self) -> uuid.UUID:
        return self.visit.patient_id
