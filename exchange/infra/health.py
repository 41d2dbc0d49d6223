"""``/healthz`` (liveness) and ``/readyz`` (readiness) for load balancers and orchestrators.

Answered by a middleware placed first, before the host check, the HTTPS redirect, sessions and
rate limits: a probe connects by IP over plain HTTP and must not be redirected, refused as a bad
host, or starve a rate-limit bucket.

- ``/healthz``: the process answers. No database, no detail: ``{"status": "ok"}``.
- ``/readyz``: the database answers, Redis answers, and every market that is not delisted has a
  matcher heartbeat younger than ``EXCHANGE_MATCHER_HEARTBEAT_MAX_AGE``. 200 when ready, else
  503. The checks' detail only with ``Authorization: Bearer <EXCHANGE_METRICS_TOKEN>`` (it names
  markets and errors); without it, just the status. Cheap: one indexed query and one PING.
"""
from __future__ import annotations

import hmac

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

HEALTH_PATHS = ("/healthz", "/readyz")


def _authorized(request: HttpRequest) -> bool:
    token = settings.EXCHANGE_METRICS_TOKEN
    sent = request.META.get("HTTP_AUTHORIZATION", "")
    return bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure means not ready; the detail says which
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()[:300]}


def _check_redis() -> dict:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


def _check_matchers() -> dict:
    """Heartbeat age of every market that a matcher must be running for."""
    from exchange.markets.models import Market, MarketStatus

    max_age = settings.EXCHANGE_MATCHER_HEARTBEAT_MAX_AGE
    now = timezone.now()
    markets = {}
    stale = []
    try:
        rows = (Market.objects.exclude(status=MarketStatus.DELISTED)
                .values_list("symbol", "matcher_state__heartbeat_at").order_by("symbol"))
        for symbol, heartbeat in rows:
            age = None if heartbeat is None else round((now - heartbeat).total_seconds(), 1)
            markets[symbol] = age
            if age is None or age > max_age:
                stale.append(symbol)
    except Exception as exc:  # the database check reports the cause
        return {"ok": False, "error": f"{type(exc).__name__}"}
    return {"ok": not stale, "max_age": max_age, "heartbeat_age": markets, "stale": stale}


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    checks = {"database": _check_database(), "redis": _check_redis()}
    checks["matchers"] = _check_matchers() if checks["database"]["ok"] else {"ok": False, "error": "no database"}
    ready = all(check["ok"] for check in checks.values())
    body: dict = {"status": "ok" if ready else "unavailable"}
    if _authorized(request):
        body["checks"] = checks
    response = JsonResponse(body, status=200 if ready else 503)
    response["Cache-Control"] = "no-store"
    return response


class LivenessProbe:
    """ASGI wrapper, outermost on HTTP (exchange/asgi.py): ``GET /healthz`` is answered on the
    event loop, before the front door's request budget and Django's worker threads. An overloaded
    process sheds real requests with 503 but stays alive to its orchestrator, which would
    otherwise restart a busy, healthy process. Everything else goes to the wrapped app."""

    BODY = b'{"status": "ok"}'

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("path") == "/healthz" and scope.get("method") in ("GET", "HEAD"):
            await send({"type": "http.response.start", "status": 200, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(self.BODY)).encode()),
                (b"cache-control", b"no-store"),
            ]})
            await send({"type": "http.response.body", "body": self.BODY if scope["method"] == "GET" else b""})
            return
        await self.app(scope, receive, send)


class HealthCheckMiddleware:
    """Answers the probes before the rest of the stack sees the request (see the module doc)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path in HEALTH_PATHS:
            if request.method not in ("GET", "HEAD"):
                response = JsonResponse({"error": {"code": "method_not_allowed", "message": "use GET"}}, status=405)
                response["Allow"] = "GET, HEAD"
                return response
            return healthz(request) if path == "/healthz" else readyz(request)
        return self.get_response(request)
