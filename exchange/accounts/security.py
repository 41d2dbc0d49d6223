"""Two-factor authentication (TOTP, django-otp): set up, confirm, and require it.

Creating an API key and requesting a withdrawal need a current code from a confirmed device:
a stolen password alone can neither mint keys nor move funds out.
"""
import base64
import io

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from exchange.accounts.events import security_event_record
from exchange.accounts.models import ApiKey, SecurityEvent
from exchange.accounts.services import api_key_create
from exchange.errors import ExchangeError


def totp_device(user: AbstractBaseUser, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).first()


@transaction.atomic
def totp_setup_start(*, user: AbstractBaseUser) -> TOTPDevice:
    """A new unconfirmed device (replacing any earlier unconfirmed one) for the user to scan."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def totp_setup_confirm(*, user: AbstractBaseUser, token: str) -> TOTPDevice:
    """Confirm the pending device with a code from the app; it then replaces any older one."""
    device = totp_device(user, confirmed=False)
    if device is None:
        raise ExchangeError("otp_not_started", "start two-factor setup first")
    if not device.verify_token(str(token).strip()):
        raise ExchangeError("invalid_otp", "that code is not valid")
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    security_event_record(user=user, kind=SecurityEvent.Kind.TWO_FACTOR_ENABLED)
    return device


def require_otp(*, user: AbstractBaseUser, token: str | None) -> None:
    """Raise unless ``token`` is a current code of the user's confirmed device."""
    device = totp_device(user)
    if device is None:
        raise ExchangeError("otp_setup_required", "set up two-factor authentication first", status=403)
    if not token or not device.verify_token(str(token).strip()):
        raise ExchangeError("invalid_otp", "a valid two-factor code is required", status=403)


def api_key_issue(*, user: AbstractBaseUser, otp_token: str | None, scopes: list[str], label: str = "",
                  allowed_ips: list[str] | None = None) -> tuple[ApiKey, str]:
    """Create an API key for a user who proves their second factor; the secret is shown once."""
    require_otp(user=user, token=otp_token)
    api_key, secret = api_key_create(user=user, scopes=scopes, label=label, allowed_ips=allowed_ips)
    security_event_record(user=user, kind=SecurityEvent.Kind.API_KEY_CREATED, key=api_key.key[:8],
                          scopes=api_key.scopes)
    return api_key, secret


@transaction.atomic
def api_key_revoke_own(*, user: AbstractBaseUser, key_id: object, request=None) -> ApiKey:
    """Revoke one of the user's own keys (anyone else's is as unknown as a missing one) and
    record the security event in the same transaction."""
    from exchange.accounts.services import api_key_revoke

    try:
        pk = int(str(key_id))
    except ValueError:
        raise ExchangeError("unknown_api_key", "no such key", status=404) from None
    api_key = ApiKey.objects.select_for_update().filter(user=user, pk=pk).first()
    if api_key is None:
        raise ExchangeError("unknown_api_key", "no such key", status=404)
    api_key_revoke(api_key=api_key)
    security_event_record(user=user, kind=SecurityEvent.Kind.API_KEY_REVOKED, request=request, key=api_key.key[:8])
    return api_key


def provisioning_qr_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// URI as an SVG QR code in a data: URI (allowed by our CSP)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def withdrawal_request_verified(*, user: AbstractBaseUser, asset, amount: object, address: str,
                                otp_token: str | None):
    """Request a withdrawal after checking the user's second factor."""
    from exchange.ledger.services import withdrawal_request

    require_otp(user=user, token=otp_token)
    return withdrawal_request(user=user, asset=asset, amount=amount, address=address)
