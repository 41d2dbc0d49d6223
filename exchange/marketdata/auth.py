"""API-key sign-in for the private WebSocket (the browser uses its session cookie instead).

The first message on ``/ws/user/`` is
``{"type": "auth", "key": KEY, "timestamp": MS, "signature": SIG}`` with
``SIG = hex HMAC-SHA256(secret, timestamp + "GET" + "/ws/user/")``: the REST signing rule
(DESIGN 6.2) for a ``GET /ws/user/`` with an empty body. The same receive window and replay
protection apply.
"""
import hmac
import time

import redis
from django.conf import settings
from django.utils import timezone

from exchange.accounts.crypto import decrypt_secret
from exchange.accounts.models import ApiKey, ApiKeyScope, Profile, UserStatus
from exchange.api.signing import signature
from exchange.errors import ExchangeError
from exchange.trading.streams import redis_client

WS_USER_PATH = "/ws/user/"


def ws_signature(secret: str, timestamp: str) -> str:
    """What a client sends as ``signature`` in its ``auth`` message."""
    return signature(secret, timestamp, "GET", WS_USER_PATH, b"")


def ws_api_key_authenticate(*, key: str, timestamp: str, sent: str, client_ip: str = "") -> int:
    """The id of the user whose API key signed this ``auth`` message, or ``ExchangeError``."""
    def refuse(code: str, message: str, status: int = 401):
        return ExchangeError(code, message, status=status)

    if not key or not timestamp or not sent:
        raise refuse("signature_missing", "key, timestamp and signature are required")
    api_key = ApiKey.objects.select_related("user").filter(key=str(key)).first()
    if api_key is None:
        raise refuse("invalid_api_key", "unknown API key")
    if api_key.revoked_at is not None:
        raise refuse("api_key_revoked", "this API key was revoked")
    timestamp = str(timestamp)
    if not timestamp.isdigit():
        raise refuse("invalid_timestamp", "timestamp must be milliseconds since the epoch")
    window_ms = getattr(settings, "EXCHANGE_API_RECV_WINDOW_MS", 5000)
    if abs(time.time() * 1000 - int(timestamp)) > window_ms:
        raise refuse("stale_timestamp", f"the timestamp is outside the {window_ms} ms receive window")
    expected = ws_signature(decrypt_secret(api_key.secret_encrypted), timestamp)
    if not hmac.compare_digest(expected, str(sent).lower()):
        raise refuse("invalid_signature", "the signature does not match")
    if ApiKeyScope.READ not in api_key.scopes:
        raise refuse("missing_scope", "this API key lacks the read scope", 403)
    if api_key.allowed_ips and client_ip not in api_key.allowed_ips:
        raise refuse("ip_not_allowed", "this API key may not be used from this address", 403)
    if not api_key.user.is_active or Profile.objects.filter(user=api_key.user, status=UserStatus.FROZEN).exists():
        raise refuse("account_frozen", "this account is frozen", 403)
    try:
        fresh = redis_client().set(f"apisig:{api_key.key}:{str(sent).lower()}", 1, nx=True, px=2 * window_ms)
    except redis.RedisError:
        raise refuse("unavailable", "cannot verify the signature right now", 503) from None
    if not fresh:
        raise refuse("replayed_request", "this signature was already used")
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
    return api_key.user_id
