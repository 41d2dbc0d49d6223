"""Request and order rate limits, counted in Redis so they hold across every web process.

Fixed windows with atomic INCR: the first request of a window sets its expiry. A refused
request gets 429 with ``Retry-After`` (the seconds left in the window).
"""
import time

import redis
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from rest_framework.throttling import BaseThrottle

from exchange.infra.net import client_ip
from exchange.infra.redis_clients import redis_client


def window_wait(setting: str, key: str, hits: int = 1) -> float | None:
    """Count ``hits`` (one request, or a batch's orders) for ``key`` under the limit ``setting``;
    the seconds to wait if over it."""
    limit, window = settings.EXCHANGE_RATE_LIMITS[setting]
    bucket = int(time.time() // window)
    name = f"rl:{setting}:{key}:{bucket}"
    try:
        pipe = redis_client().pipeline()
        pipe.incrby(name, hits)
        pipe.expire(name, window + 1)
        count, _ = pipe.execute()
    except redis.RedisError:
        return None  # limits protect the venue; losing them briefly must not stop trading
    if count > limit:
        return window - (time.time() % window)
    return None


class IpRateLimitMiddleware:
    """Per-IP limit on every /api/ request, before authentication: it also slows down anyone
    guessing keys or signatures."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return ip_limit_refusal(request) or self.get_response(request)


def ip_limit_refusal(request) -> HttpResponse | None:
    """The 429 for an ``/api/`` request over its address's limit, or None (counts the request)."""
    if not request.path.startswith("/api/"):
        return None
    wait = window_wait("ip", client_ip(request) or "unknown")
    if wait is None:
        return None
    response = JsonResponse({"error": {"code": "rate_limited", "message": "too many requests from this address"}},
                            status=429)
    response["Retry-After"] = str(int(wait) + 1)
    return response


class RedisWindowThrottle(BaseThrottle):
    """``limit`` requests per ``window`` seconds per ``key``; subclasses say what they count."""

    setting: str = ""  # name in settings.EXCHANGE_RATE_LIMITS: (limit, window seconds)

    def key(self, request, view) -> str | None:
        raise NotImplementedError

    def applies(self, request, view) -> bool:
        return True

    def allow_request(self, request, view) -> bool:
        self._wait = None
        if not self.applies(request, view):
            return True
        key = self.key(request, view)
        if key is None:
            return True
        self._wait = window_wait(self.setting, key)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class AccountRateThrottle(RedisWindowThrottle):
    """Per API key when signed, else per signed-in user."""

    setting = "account"

    def key(self, request, view) -> str | None:
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            return f"key:{api_key.pk}"
        user = request.user
        return f"user:{user.pk}" if user and user.is_authenticated else None


class OrderRateThrottle(RedisWindowThrottle):
    """Orders, amends and cancels per account, whatever key or session they come through."""

    setting = "orders"

    def applies(self, request, view) -> bool:
        return request.method in ("POST", "PATCH", "DELETE")

    def key(self, request, view) -> str | None:
        user = request.user
        return f"user:{user.pk}" if user and user.is_authenticated else None
