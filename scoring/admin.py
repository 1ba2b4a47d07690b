from auditlog.mixins import AuditlogHistoryAdminMixin
from django.contrib import admin

from scoring.models import Assessment, FlagAcknowledgement


@admin.register(Assessment)
class AssessmentAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    """Read-only: totals are written by scoring.services alone, from the items."""

    show_auditlog_history_link = True
    list_display = ["visit", "instrument", "version", "activity", "damage", "severity"]
    list_filter = ["instrument", "severity"]
    list_select_related = ["visit__patient"]
    readonly_fields = [
        "visit", "instrument", "version", "items", "activity", "damage", "severity",
        "activity_parts", "damage_parts", "scored_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FlagAcknowledgement)
class FlagAcknowledgementAdmin(AuditlogHistoryAdminMixin, admin.ModelAdmin):
    show_auditlog_history_link = True
    list_display = ["patient", "kind", "flag_key", "acknowledged_by", "acknowledged_at"]
    list_select_related = ["patient", "acknowledged_by"]
    readonly_fields = ["acknowledged_at"]
