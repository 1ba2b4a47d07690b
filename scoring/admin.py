from auditlog.mixins import AuditlogHistoryAdminMixin
from django.contrib import admin

from scoring.models import Assessment, FlagAcknowledgement


class RefreshesPatientState:
    """A ModelAdmin mixin: an edit or deletion in the admin recomputes the patient's
    stored state (scoring.state) inside the admin's own transaction, as the services'
    writes do, so the worklist and the list pages never show what the admin changed
    away. `patient_id_path` names the patient id from the object ("patient_id",
    "visit.patient_id", "pk" for a patient)."""

    patient_id_path = "patient_id"

    def _patient_id(self, obj):
        value = obj
        for part in self.patient_id_path.split("."):
            value = getattr(value, part)
        return value

    def _refresh(self, patient_ids) -> None:
        from scoring.state import refresh_states

        refresh_states([pid for pid in patient_ids if pid is not None])

    def save_related(self, request, form, formsets, change):  # after the object and its inlines
        super().save_related(request, form, formsets, change)
        self._refresh([self._patient_id(form.instance)])

    def delete_model(self, request, obj):
        patient_id = self._patient_id(obj)
        super().delete_model(request, obj)
        self._refresh([patient_id])

    def delete_queryset(self, request, queryset):
        patient_ids = {self._patient_id(obj) for obj in queryset}
        super().delete_queryset(request, queryset)
        self._refresh(patient_ids)


@admin.register(Assessment)
class AssessmentAdmin(RefreshesPatientState, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """Read-only: totals are written by scoring.services alone, from the items."""

    show_auditlog_history_link = True
    list_display = ["visit", "instrument", "version", "activity", "damage", "severity"]
    list_filter = ["instrument", "severity"]
    list_select_related = ["visit__patient"]
    patient_id_path = "visit.patient_id"
    readonly_fields = [
        "visit", "instrument", "version", "items", "activity", "damage", "severity",
        "activity_parts", "damage_parts", "scored_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FlagAcknowledgement)
class FlagAcknowledgementAdmin(RefreshesPatientState, AuditlogHistoryAdminMixin, admin.ModelAdmin):
    show_auditlog_history_link = True
    list_display = ["patient", "kind", "flag_key", "acknowledged_by", "acknowledged_at"]
    list_select_related = ["patient", "acknowledged_by"]
    readonly_fields = ["acknowledged_at"]
