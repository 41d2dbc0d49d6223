"""Traders' profiles and API keys. Users themselves are Django's ``auth.User``."""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class UserStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    FROZEN = "frozen", "Frozen"


class Profile(models.Model):
    """What the exchange knows about a user beyond the login: status and KYC level."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    status = models.CharField(max_length=8, choices=UserStatus.choices, default=UserStatus.ACTIVE)
    kyc_level = models.PositiveSmallIntegerField(default=0, help_text="0 none, 1 basic, 2 verified, 3 enhanced.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by every security change the user makes (two-factor turned on, replaced or off, a key
    # that may withdraw): someone who took the account over cannot move funds out before the
    # owner, warned by e-mail, can react.
    withdrawals_locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.status}, KYC {self.kyc_level})"

    @property
    def is_frozen(self) -> bool:
        return self.status == UserStatus.FROZEN


class ApiKeyScope(models.TextChoices):
    READ = "read", "Read"
    TRADE = "trade", "Trade"
    WITHDRAW = "withdraw", "Withdraw"


class ApiKey(models.Model):
    """A key for programs. The secret is stored encrypted (it is needed to check HMAC
    signatures) and is shown to its owner once, when the key is created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    key = models.CharField(max_length=64, unique=True)
    secret_encrypted = models.TextField()
    label = models.CharField(max_length=64, blank=True)
    scopes = ArrayField(models.CharField(max_length=16, choices=ApiKeyScope.choices), default=list)
    allowed_ips = ArrayField(models.GenericIPAddressField(), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key[:8]}… ({self.user}, {','.join(self.scopes)})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SecurityEvent(models.Model):
    """Something that matters for an account's security, shown to its owner and kept for audit."""

    class Kind(models.TextChoices):
        LOGIN = "login", "Logged in"
        LOGIN_FAILED = "login_failed", "Failed login"
        LOGOUT = "logout", "Logged out"
        LOGIN_OTP_FAILED = "login_otp_failed", "Wrong two-factor code at login"
        TWO_FACTOR_ENABLED = "2fa_enabled", "Two-factor authentication turned on"
        TWO_FACTOR_CHANGED = "2fa_changed", "Authenticator replaced"
        TWO_FACTOR_DISABLED = "2fa_disabled", "Two-factor authentication turned off"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        SESSION_ENDED = "session_ended", "Session signed out"
        API_KEY_CREATED = "api_key_created", "API key created"
        API_KEY_REVOKED = "api_key_revoked", "API key revoked"
        API_KEY_NEW_IP = "api_key_new_ip", "API key used from a new address"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """An index of a user's own sessions, written at login and removed at logout or revocation,
    so that listing or ending them never reads anyone else's session rows."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="web_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="usersession_user_created")]

    def __str__(self) -> str:
        return f"{self.user} {self.session_key[:8]}…"
