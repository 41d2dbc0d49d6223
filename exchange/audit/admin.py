"""The audit log in Django admin: readable, never editable or deletable."""
from django.contrib import admin

from exchange.audit.models import AuditEntry, LoginRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that are evidence: listed and searched, never added, changed or deleted here."""

    date_hierarchy = "created_at"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_username", "ip", "source", "action", "object_type", "object_id", "reason")
    list_filter = ("source", "action")
    search_fields = ("actor_username", "action", "object_type", "object_id", "reason")


@admin.register(LoginRecord)
class LoginRecordAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "username", "ip", "succeeded", "user_agent")
    list_filter = ("succeeded",)
    search_fields = ("username", "ip")
