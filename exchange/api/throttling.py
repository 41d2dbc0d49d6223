"""Request and order rate limits, counted in Redis so they hold across every web process.

Fixed windows with atomic INCR: the first request of a window sets its expiry. A refused
request gets 429 with ``Retry-After`` (the seconds left in the window).
"""
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from rest_framework.throttling import BaseThrottle

from exchange.infra.net import client_ip
from exchange.infra.redis_clients import redis_client


@dataclass(frozen=True, slots=True)
class Window:
    """``hits`` (one request, or a batch's orders) for ``key`` under the limit ``setting`` (a name
    in ``settings.EXCHANGE_RATE_LIMITS``: limit, window seconds), in the current fixed window.

    ``count`` only queues the commands, so that one pipeline can carry several counts and, for
    signed order entry, the replay guard too (``exchange.api.signed_entry``)."""

    setting: str
    key: str
    hits: int = 1

    def count(self, pipe: Any) -> None:
        """Queues the count on ``pipe``: INCRBY (its reply is the window's new total) then EXPIRE."""
        _, period = settings.EXCHANGE_RATE_LIMITS[self.setting]
        name = f"rl:{self.setting}:{self.key}:{int(time.time() // period)}"
        pipe.incrby(name, self.hits)
        pipe.expire(name, period + 1)

    def wait(self, total: int) -> float | None:
        """The seconds left in the window if ``total`` is over the limit, else None."""
        limit, period = settings.EXCHANGE_RATE_LIMITS[self.setting]
        return period - (time.time() % period) if total > limit else None


def window_waits(windows: Sequence[Window], replies: Sequence) -> list[float | None]:
    """Each window's wait, from the replies to their ``count``s, queued in order on one pipeline."""
    return [window.wait(total) for window, total in zip(windows, replies[::2], strict=True)]


def window_wait(window: Window) -> float | None:
    """Count ``window``'s hits in a round trip of its own; the seconds to wait if over its limit."""
    try:
        pipe = redis_client().pipeline(transaction=False)  # INCRBY and EXPIRE need no MULTI around them
        window.count(pipe)
        replies = pipe.execute()
    except redis.RedisError:
        return None  # limits protect the venue; losing them briefly must not stop trading
    return window_waits([window], replies)[0]


class IpRateLimitMiddleware:
    """Per-IP limit on every /api/ request, before authentication: it also slows down anyone
    guessing keys or signatures."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return ip_limit_refusal(request) or self.get_response(request)


# The error of a request over its address's limit (also answered by marketdata/depth_door.py).
IP_LIMITED = {"code": "rate_limited", "message": "too many requests from this address"}


def ip_window(request) -> Window:
    """What an ``/api/`` request counts against its address's limit."""
    return Window("ip", client_ip(request) or "unknown")


def ip_limited_response(wait: float) -> HttpResponse:
    """The 429 of a request over its address's limit, ``wait`` seconds before the window ends."""
    response = JsonResponse({"error": IP_LIMITED}, status=429)
    response["Retry-After"] = str(int(wait) + 1)
    return response


def ip_limit_refusal(request) -> HttpResponse | None:
    """The 429 for an ``/api/`` request over its address's limit, or None (counts the request)."""
    if not request.path.startswith("/api/"):
        return None
    wait = window_wait(ip_window(request))
    return None if wait is None else ip_limited_response(wait)


@dataclass(slots=True)
class PendingAddressCount:
    """A signed order request's address count, sent with the view's own Redis round trip
    (``exchange.api.signed_entry``) rather than in one of its own before the view.

    ``counted`` once a pipeline carried it, with ``wait`` set if the address was over its limit;
    a request refused before its throttles ran (a bad signature, a missing scope, an unreadable
    body) was not counted, and its door counts it after the view (``count_now``): every request
    counts, whatever the view answered."""

    window: Window
    counted: bool = False
    wait: float | None = None

    def count_now(self) -> None:
        if not self.counted:
            self.counted = True
            self.wait = window_wait(self.window)


class RedisWindowThrottle(BaseThrottle):
    """``limit`` requests per ``window`` seconds per ``key``; subclasses say what they count."""

    setting: str = ""  # name in settings.EXCHANGE_RATE_LIMITS: (limit, window seconds)

    def key(self, request, view) -> str | None:
        raise NotImplementedError

    def applies(self, request, view) -> bool:
        return True

    def hits(self, request, view) -> int:
        return 1

    def window(self, request, view) -> Window | None:
        """What this request counts against, or None when this throttle does not count it."""
        if not self.applies(request, view):
            return None
        key = self.key(request, view)
        return None if key is None else Window(self.setting, key, self.hits(request, view))

    def allow_request(self, request, view) -> bool:
        window = self.window(request, view)
        self._wait = None if window is None else window_wait(window)
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
