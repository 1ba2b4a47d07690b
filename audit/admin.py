"""The audit entries in the admin: read-only, with the actor as it was."""

from auditlog.admin import LogEntryAdmin
from auditlog.filters import ResourceTypeFilter
from django.contrib import admin

from audit.models import AuditEntry

admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class AuditEntryAdmin(LogEntryAdmin):
    list_select_related = ["content_type"]
    list_display = ["seq", "created", "event", "resource_url", "msg_short", "actor_username", "remote_addr"]
    search_fields = ["object_repr", "actor_username"]
    list_filter = ["event", ResourceTypeFilter]
    readonly_fields = ["created", "resource_url", "event", "actor_username", "remote_addr", "msg",
                       "seq", "entry_hash"]
    fieldsets = [
        (None, {"fields": ["seq", "created", "actor_username", "remote_addr", "resource_url"]}),
        ("Changes", {"fields": ["event", "msg"]}),
        ("Chain", {"fields": ["entry_hash"]}),
    ]
