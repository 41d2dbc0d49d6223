"""API-key authentication for the REST API: signed, fresh, never replayed, scoped, IP-bound."""
import hmac
import time

import redis
from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from exchange.accounts.crypto import decrypt_secret
from exchange.accounts.models import ApiKey, Profile, UserStatus
from exchange.api.signing import signature
from exchange.infra.net import client_ip as net_client_ip
from exchange.trading.streams import redis_client


class ApiKeyError(exceptions.AuthenticationFailed):
    """An authentication failure with a precise code for the client."""

    def __init__(self, code: str, message: str, status_code: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.status_code = status_code


def client_ip(request) -> str:
    return net_client_ip(request) or ""  # the one reading, behind TRUSTED_PROXIES too


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates requests that carry ``X-API-KEY``; others fall through to the session."""

    def authenticate(self, request):
        key = request.META.get("HTTP_X_API_KEY")
        if not key:
            return None
        timestamp = request.META.get("HTTP_X_API_TIMESTAMP", "")
        sent = request.META.get("HTTP_X_API_SIGNATURE", "")
        if not timestamp or not sent:
            raise ApiKeyError("signature_missing", "X-API-TIMESTAMP and X-API-SIGNATURE are required")
        api_key = ApiKey.objects.select_related("user").filter(key=key).first()
        if api_key is None:
            raise ApiKeyError("invalid_api_key", "unknown API key")
        if api_key.revoked_at is not None:
            raise ApiKeyError("api_key_revoked", "this API key was revoked")
        if not timestamp.isdigit():
            raise ApiKeyError("invalid_timestamp", "X-API-TIMESTAMP must be milliseconds since the epoch")
        window_ms = settings.EXCHANGE_API_RECV_WINDOW_MS
        if abs(time.time() * 1000 - int(timestamp)) > window_ms:
            raise ApiKeyError("stale_timestamp", f"the request is outside the {window_ms} ms receive window")
        expected = signature(decrypt_secret(api_key.secret_encrypted), timestamp, request.method,
                             request.get_full_path(), request.body)
        if not hmac.compare_digest(expected, sent.lower()):
            raise ApiKeyError("invalid_signature", "the signature does not match the request")
        if api_key.allowed_ips and client_ip(request) not in api_key.allowed_ips:
            raise ApiKeyError("ip_not_allowed", "this API key may not be used from this address", 403)
        if not api_key.user.is_active or Profile.objects.filter(user=api_key.user, status=UserStatus.FROZEN).exists():
            raise ApiKeyError("account_frozen", "this account is frozen", 403)
        self._refuse_replay(api_key.key, sent, window_ms)
        self._note_new_ip(api_key, request)
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
        request.api_key = api_key
        return api_key.user, api_key

    @staticmethod
    def _refuse_replay(key: str, sent: str, window_ms: int) -> None:
        try:
            fresh = redis_client().set(f"apisig:{key}:{sent}", 1, nx=True, px=2 * window_ms)
        except redis.RedisError:
            # Without Redis a replay cannot be ruled out: refuse rather than risk a double order.
            raise ApiKeyError("unavailable", "cannot verify the request right now", 503) from None
        if not fresh:
            raise ApiKeyError("replayed_request", "this signature was already used")

    @staticmethod
    def _note_new_ip(api_key: ApiKey, request) -> None:
        """A security event the first time a key is used from an address (remembered in Redis)."""
        ip = client_ip(request)
        try:
            new = redis_client().sadd(f"apikey-ips:{api_key.pk}", ip) == 1
        except redis.RedisError:
            return
        if new:
            from exchange.accounts.events import security_event_record

            security_event_record(user=api_key.user, kind="api_key_new_ip", request=request, key=api_key.key[:8])

    def authenticate_header(self, request) -> str:
        return 'ApiKey realm="api"'
