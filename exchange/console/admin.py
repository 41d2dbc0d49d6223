"""Console data in Django admin: read-only, so that no approval or tier changes outside the
console's services (which enforce four eyes and write the audit log)."""
from django.contrib import admin

from exchange.console.models import ApprovalRequest
from exchange.trading.models import FeeTier


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "status", "user", "asset", "amount", "requested_by", "decided_by", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("user__username", "requested_by__username", "reason")


@admin.register(FeeTier)
class FeeTierAdmin(ReadOnlyAdmin):
    list_display = ("quote", "min_volume", "maker_fee", "taker_fee", "created_at")
