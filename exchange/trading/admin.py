"""Raw data access to orders, commands, fills and the journal: read-only, because every change
must go through the entry services and the matcher."""
from django.contrib import admin

from exchange.ledger.admin import ReadOnlyAdmin
from exchange.trading.models import Command, Fill, JournalEvent, MatcherState, Order


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "market", "side", "order_type", "price", "quantity", "filled_quantity", "status",
                    "created_at")
    list_filter = ("status", "market", "side", "order_type")
    search_fields = ("=id", "user__username", "client_order_id")
    date_hierarchy = "created_at"


@admin.register(Command)
class CommandAdmin(ReadOnlyAdmin):
    list_display = ("id", "market", "kind", "order", "applied_sequence", "created_at")
    list_filter = ("kind", "market")
    search_fields = ("=id", "=order__id")


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ("id", "market", "sequence", "price", "quantity", "buyer", "seller", "aggressor", "created_at")
    list_filter = ("market", "aggressor")
    search_fields = ("=buy_order__id", "=sell_order__id", "buyer__username", "seller__username")
    date_hierarchy = "created_at"


@admin.register(JournalEvent)
class JournalEventAdmin(ReadOnlyAdmin):
    list_display = ("market", "sequence", "event_type", "created_at", "hash")
    list_filter = ("market", "event_type")
    search_fields = ("=sequence", "hash")


@admin.register(MatcherState)
class MatcherStateAdmin(ReadOnlyAdmin):
    list_display = ("market", "last_sequence", "owner", "heartbeat_at", "last_stream_id")
