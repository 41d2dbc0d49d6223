from django.contrib import admin

from exchange.accounts.models import ApiKey, Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "status", "kyc_level", "created_at")
    list_filter = ("status", "kyc_level")
    search_fields = ("user__username", "user__email")
    # The KYC level sets withdrawal limits: it changes only in the console (admins and compliance,
    # never their own) or with manage.py set_kyc_level, both audited with a reason.
    readonly_fields = ("kyc_level",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "user", "label", "scopes", "created_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("key", "user__username", "label")
    exclude = ("secret_encrypted",)
    readonly_fields = ("key", "user", "created_at", "last_used_at")
