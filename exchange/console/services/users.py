"""Console writes on users: freeze and unfreeze, KYC level, API-key revocation."""
from django.contrib.auth.models import User
from django.db import transaction

from exchange.accounts import services as accounts
from exchange.accounts.models import ApiKey, Profile, UserStatus
from exchange.accounts.roles import ADMIN, COMPLIANCE, user_has_role
from exchange.audit.models import AuditSource
from exchange.audit.services import audit_record
from exchange.console.services.guards import check_admin, check_not_own_account, check_reason
from exchange.errors import ExchangeError
from exchange.trading import services as trading
from exchange.trading.models import OPEN_STATUSES, Order


def _profile(user: User) -> Profile:
    accounts.profile_for(user)
    return Profile.objects.select_for_update().get(user=user)


@transaction.atomic
def user_freeze(*, actor: User, ip: str | None, user: User, reason: str) -> Profile:
    """Freeze a user: no login (their sessions end), no orders, no API calls, and every open
    order cancelled through each market's stream (holds released as the matchers apply it)."""
    check_admin(actor)
    why = check_reason(reason)
    if user.pk == actor.pk:
        raise ExchangeError("cannot_freeze_yourself", "another admin must freeze your account", status=403)
    profile = _profile(user)
    if profile.status == UserStatus.FROZEN:
        raise ExchangeError("already_frozen", f"{user} is already frozen", status=409)
    open_orders = Order.objects.filter(user=user, status__in=OPEN_STATUSES).count()
    trading.user_freeze(user=user, reason=why)
    audit_record(actor=actor, ip=ip, action="user.freeze", object_type="auth.user", object_id=user.pk,
                 before={"status": profile.status, "open_orders": open_orders}, after={"status": UserStatus.FROZEN},
                 reason=why)
    profile.refresh_from_db()
    return profile


@transaction.atomic
def user_unfreeze(*, actor: User, ip: str | None, user: User, reason: str) -> Profile:
    """Let a frozen user log in and trade again (their cancelled orders stay cancelled)."""
    check_admin(actor)
    why = check_reason(reason)
    profile = _profile(user)
    if profile.status != UserStatus.FROZEN:
        raise ExchangeError("not_frozen", f"{user} is not frozen", status=409)
    accounts.user_set_status(user=user, status=UserStatus.ACTIVE)
    audit_record(actor=actor, ip=ip, action="user.unfreeze", object_type="auth.user", object_id=user.pk,
                 before={"status": UserStatus.FROZEN}, after={"status": UserStatus.ACTIVE}, reason=why)
    profile.refresh_from_db()
    return profile


@transaction.atomic
def user_kyc_set(*, actor: User | None, ip: str | None, user: User, level: int,
                 reason: str) -> Profile:
    """Set the user's KYC level (0 none, 1 basic, 2 verified, 3 enhanced): it decides how much
    they may withdraw and receive (``exchange.ledger.limits``). Admins and compliance officers
    set it in the console, never their own (``own_account``); ``actor=None`` is an operator at
    the server (``manage.py set_kyc_level``), audited as ``operator`` with the system source."""
    if actor is not None:
        if not (user_has_role(actor, ADMIN) or user_has_role(actor, COMPLIANCE)):
            raise ExchangeError("forbidden", "only admins and compliance officers set KYC levels", status=403)
        check_not_own_account(actor, user.pk, "set the KYC level of")
    why = check_reason(reason)
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 3:
        raise ExchangeError("invalid_kyc_level", "KYC level is 0, 1, 2 or 3")
    profile = _profile(user)
    before = profile.kyc_level
    profile.kyc_level = level
    profile.save(update_fields=["kyc_level"])
    audit_record(actor=actor, ip=ip, action="user.kyc_set", object_type="auth.user", object_id=user.pk,
                 before={"kyc_level": before}, after={"kyc_level": level},
                 reason=why, source=AuditSource.CONSOLE if actor else AuditSource.SYSTEM)
    return profile


@transaction.atomic
def user_api_key_revoke(*, actor: User, ip: str | None, api_key_id: int, reason: str) -> ApiKey:
    """Revoke one of a user's API keys for good."""
    check_admin(actor)
    why = check_reason(reason)
    api_key = ApiKey.objects.select_for_update().filter(pk=api_key_id).first()
    if api_key is None:
        raise ExchangeError("unknown_api_key", "no such API key", status=404)
    if api_key.revoked_at is not None:
        raise ExchangeError("already_revoked", "this key is already revoked", status=409)
    accounts.api_key_revoke(api_key=api_key)
    audit_record(actor=actor, ip=ip, action="user.api_key_revoke", object_type="accounts.apikey", object_id=api_key.pk,
                 before={"key": api_key.key[:8], "user": api_key.user_id, "revoked_at": None},
                 after={"revoked_at": api_key.revoked_at}, reason=why)
    return api_key
