"""Read-mostly admin for the ledger: entries and postings are never edited by hand."""
from django.contrib import admin

from exchange.ledger.models import Balance, LedgerAccount, LedgerEntry, Posting, Withdrawal


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger changes only through its services, so that every change stays balanced."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "user")
    list_filter = ("kind",)
    search_fields = ("user__username",)


@admin.register(Balance)
class BalanceAdmin(ReadOnlyAdmin):
    list_display = ("account", "asset", "available", "held", "updated_at")
    list_filter = ("asset", "is_system")
    search_fields = ("account__user__username",)


class PostingInline(admin.TabularInline):
    model = Posting
    extra = 0
    can_delete = False
    readonly_fields = ("account", "asset", "bucket", "amount", "hold")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "reference", "created_at", "memo")
    list_filter = ("kind",)
    search_fields = ("reference", "idempotency_key", "memo")
    date_hierarchy = "created_at"
    inlines = [PostingInline]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ("id", "entry", "account", "asset", "bucket", "amount", "hold")
    list_filter = ("bucket", "asset")
    search_fields = ("hold", "entry__reference", "account__user__username")


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "asset", "amount", "status", "created_at", "decided_at")
    list_filter = ("status", "asset")
    search_fields = ("user__username", "address")
