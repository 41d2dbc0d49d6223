from django.contrib import admin

from exchange.markets.models import Asset, Market


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("symbol", "name", "decimals")
    search_fields = ("symbol", "name")


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = ("symbol", "status", "tick_size", "lot_size", "min_notional", "maker_fee", "taker_fee", "last_price")
    list_filter = ("status", "quote")
    search_fields = ("symbol",)
