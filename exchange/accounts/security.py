"""Two-factor authentication (TOTP and one-time recovery codes, django-otp): enrol, replace,
turn off, check; and what a security change sets off (an e-mail and a withdrawal lock).

The second factor guards everything a stolen password would be used for: logging in at all
(``exchange.accounts.login``), replacing or removing the authenticator (the current code or a
recovery code), creating API keys and requesting withdrawals (a current code). Each change the
user makes to these e-mails them and locks withdrawals for
``EXCHANGE_SECURITY_WITHDRAWAL_LOCK_HOURS``, so a takeover cannot empty the account before the
owner can react.
"""
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from exchange.accounts.events import security_event_record
from exchange.accounts.models import ApiKey, ApiKeyScope, Profile, SecurityEvent
from exchange.accounts.services import api_key_create, api_key_validate
from exchange.errors import ExchangeError
from exchange.infra.qr import qr_svg_data_uri

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "recovery"

_CHANGE_MAIL: dict[str, str] = {
    SecurityEvent.Kind.TWO_FACTOR_ENABLED: "Two-factor authentication was turned on for your account.",
    SecurityEvent.Kind.TWO_FACTOR_CHANGED: "The authenticator of your account was replaced.",
    SecurityEvent.Kind.TWO_FACTOR_DISABLED: "Two-factor authentication was turned off for your account.",
    SecurityEvent.Kind.API_KEY_CREATED: "An API key that may request withdrawals was created for your account.",
}


def totp_device(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).first()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_DEVICE_NAME,
                                      device__confirmed=True).count()


def second_factor_verify(*, user: User, token: str | None, allow_recovery: bool = True,
                         request=None) -> Device | None:
    """The device that accepts ``token`` (a current TOTP code or, if allowed, an unused recovery
    code, which is used up), or None. django-otp throttles each device after failures and
    refuses a TOTP code it has already accepted."""
    token = (token or "").strip().replace(" ", "").lower()
    if not token:
        return None
    device = totp_device(user)
    if device is not None and token.isdigit() and device.verify_token(token):
        return device
    if allow_recovery:
        recovery = StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True).first()
        if recovery is not None and recovery.verify_token(token):
            security_event_record(user=user, kind=SecurityEvent.Kind.RECOVERY_CODE_USED, request=request,
                                  left=recovery.token_set.count())
            return recovery
    return None


@transaction.atomic
def totp_setup_start(*, user: User, current_token: str | None = None, request=None) -> TOTPDevice:
    """A new unconfirmed device (replacing any earlier unconfirmed one) for the user to scan.

    With two-factor already on, this is a replacement and needs the current code or a recovery
    code: a session alone must not be enough to move the second factor to another phone."""
    if totp_device(user) is not None and second_factor_verify(user=user, token=current_token, request=request) is None:
        raise ExchangeError("invalid_otp", "replacing your authenticator needs a current code or a recovery code",
                            status=403)
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def totp_setup_confirm(*, user: User, device_id: object, token: str, request=None) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending device ``device_id`` (the one this session started) with a code from
    the app. It replaces any older one; new recovery codes replace the old ones and are returned
    to be shown once. E-mails the user and locks withdrawals."""
    pk = _int(device_id, "otp_not_started", "start two-factor setup first", 400)
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False, pk=pk).first()
    if device is None:
        raise ExchangeError("otp_not_started", "start two-factor setup first")
    if not device.verify_token(str(token).strip()):
        raise ExchangeError("invalid_otp", "that code is not valid")
    replaced = TOTPDevice.objects.filter(user=user, confirmed=True).delete()[0] > 0
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_issue(user=user)
    kind = SecurityEvent.Kind.TWO_FACTOR_CHANGED if replaced else SecurityEvent.Kind.TWO_FACTOR_ENABLED
    security_change_commit(user=user, kind=kind, request=request)
    return device, codes


@transaction.atomic
def totp_disable(*, user: User, current_token: str | None, request=None) -> None:
    """Turn two-factor off, with the current code or a recovery code. E-mails and locks."""
    if totp_device(user) is None:
        raise ExchangeError("otp_setup_required", "two-factor authentication is not on")
    if second_factor_verify(user=user, token=current_token, request=request) is None:
        raise ExchangeError("invalid_otp", "turning two-factor off needs a current code or a recovery code",
                            status=403)
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).delete()
    security_change_commit(user=user, kind=SecurityEvent.Kind.TWO_FACTOR_DISABLED, request=request)


def recovery_codes_issue(*, user: User) -> list[str]:
    """Fresh one-time recovery codes (the old ones stop working); shown to the user once."""
    StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def require_otp(*, user: User, token: str | None) -> None:
    """Raise unless ``token`` is a current code of the user's confirmed device."""
    if totp_device(user) is None:
        raise ExchangeError("otp_setup_required", "set up two-factor authentication first", status=403)
    if second_factor_verify(user=user, token=token, allow_recovery=False) is None:
        raise ExchangeError("invalid_otp", "a valid two-factor code is required", status=403)


def security_change_commit(*, user: User, kind: str, request=None, **detail) -> datetime:
    """What every security change the user makes sets off: the event, a withdrawal lock, and an
    e-mail sent once the change has committed. Returns the end of the lock."""
    security_event_record(user=user, kind=kind, request=request, **detail)
    until = timezone.now() + timedelta(hours=settings.EXCHANGE_SECURITY_WITHDRAWAL_LOCK_HOURS)
    profile, _ = Profile.objects.select_for_update().get_or_create(user=user)
    if profile.withdrawals_locked_until is None or profile.withdrawals_locked_until < until:
        profile.withdrawals_locked_until = until
        profile.save(update_fields=["withdrawals_locked_until"])
    email = getattr(user, "email", "")
    if email:
        body = (f"{_CHANGE_MAIL.get(kind, kind)}\n\nWithdrawals from your account are locked until "
                f"{until:%Y-%m-%d %H:%M} UTC. If this was not you, contact support at once: someone "
                "may have your password.")
        transaction.on_commit(lambda: send_mail("Security change on your exchange account", body,
                                                settings.DEFAULT_FROM_EMAIL, [email], fail_silently=True))
    return until


def withdrawals_locked_until(user: User) -> datetime | None:
    """The end of the user's withdrawal lock, or None when withdrawals are not locked."""
    until = Profile.objects.filter(user_id=user.pk).values_list("withdrawals_locked_until", flat=True).first()
    return until if until is not None and until > timezone.now() else None


def api_key_issue(*, user: User, otp_token: str | None, scopes: list[str], label: str = "",
                  allowed_ips: list[str] | None = None, request=None) -> tuple[ApiKey, str]:
    """Create an API key for a user who proves their second factor; the secret is shown once.

    The input is checked before the code, so a typo does not burn the code. A key that may
    withdraw is a security change (e-mail, withdrawal lock)."""
    api_key_validate(scopes=scopes, label=label, allowed_ips=allowed_ips)
    require_otp(user=user, token=otp_token)
    with transaction.atomic():
        api_key, secret = api_key_create(user=user, scopes=scopes, label=label, allowed_ips=allowed_ips)
        detail = {"key": api_key.key[:8], "scopes": api_key.scopes}
        if ApiKeyScope.WITHDRAW in api_key.scopes:
            security_change_commit(user=user, kind=SecurityEvent.Kind.API_KEY_CREATED, request=request, **detail)
        else:
            security_event_record(user=user, kind=SecurityEvent.Kind.API_KEY_CREATED, request=request, **detail)
    return api_key, secret


@transaction.atomic
def api_key_revoke_own(*, user: User, key_id: object, request=None) -> ApiKey:
    """Revoke one of the user's own keys (anyone else's is as unknown as a missing one) and
    record the security event in the same transaction."""
    from exchange.accounts.services import api_key_revoke

    api_key = ApiKey.objects.select_for_update().filter(user=user, pk=_int(key_id)).first()
    if api_key is None:
        raise ExchangeError("unknown_api_key", "no such key", status=404)
    api_key_revoke(api_key=api_key)
    security_event_record(user=user, kind=SecurityEvent.Kind.API_KEY_REVOKED, request=request, key=api_key.key[:8])
    return api_key


def provisioning_qr_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// URI as an SVG QR code in a data: URI (allowed by our CSP)."""
    return qr_svg_data_uri(device.config_url)


def _int(value: object, code: str = "unknown_api_key", message: str = "no such key", status: int = 404) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ExchangeError(code, message, status=status) from None
