from auditlog.mixins import AuditlogHistoryAdminMixin
from django.contrib import admin

from patients.models import AdverseEvent, Course, DoseStep, LabResult, Patient, Visit
from scoring.admin import RefreshesPatientState


class DoseStepInline(admin.TabularInline):
    model = DoseStep
    extra = 0


class LabInline(admin.TabularInline):
    model = LabResult
    extra = 0


class AdverseEventInline(admin.TabularInline):
    model = AdverseEvent
    extra = 0


class HistoryAdmin(RefreshesPatientState, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    show_auditlog_history_link = True


@admin.register(Patient)
class PatientAdmin(HistoryAdmin):
    patient_id_path = "pk"
    list_display = ["code", "name", "clinic", "sex", "sle"]
    list_filter = ["clinic", "sex", "sle"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        # A patient belongs to one clinic for good: access, codes and the stored
        # state (scoring.models.PatientState.clinic) all follow it.
        return ["clinic"] if obj is not None else []


@admin.register(Visit)
class VisitAdmin(HistoryAdmin):
    list_display = ["patient", "date", "clinician"]
    list_filter = ["patient__clinic"]
    search_fields = ["patient__code"]
    date_hierarchy = "date"
    list_select_related = ["patient", "clinician"]
    inlines = [LabInline, AdverseEventInline]


@admin.register(Course)
class CourseAdmin(HistoryAdmin):
    list_display = ["patient", "drug", "start", "end", "stop_reason"]
    list_filter = ["stop_reason", "patient__clinic"]
    list_select_related = ["patient"]
    inlines = [DoseStepInline]


@admin.register(DoseStep)
class DoseStepAdmin(HistoryAdmin):
    patient_id_path = "course.patient_id"
    list_display = ["course", "date", "mg", "every_days"]
    list_select_related = ["course__patient"]


@admin.register(LabResult)
class LabResultAdmin(HistoryAdmin):
    patient_id_path = "visit.patient_id"
    list_display = ["visit", "test", "value", "result", "unit"]
    list_filter = ["test"]
    list_select_related = ["visit__patient"]


@admin.register(AdverseEvent)
class AdverseEventAdmin(HistoryAdmin):
    patient_id_path = "visit.patient_id"
    list_display = ["visit", "term", "grade"]
    list_filter = ["grade"]
    list_select_related = ["visit__patient"]
