from django.contrib import admin

from exchange.accounts.models import ApiKey, Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "status", "kyc_level", "created_at")
    list_filter = ("status", "kyc_level")
    search_fields = ("user__username", "user__email")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "user", "label", "scopes", "created_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("key", "user__username", "label")
    exclude = ("secret_encrypted",)
    readonly_fields = ("key", "user", "created_at", "last_used_at")
