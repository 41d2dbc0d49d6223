"""The front door: shed load with a fast, clean 503 instead of collapsing under it.

Two parts:

- ``FrontDoor``, an ASGI wrapper around Django's HTTP application (``exchange/asgi.py``). Each web
  process admits a bounded number of requests at a time: order entry (POST/DELETE/PUT/PATCH under
  ``/api/v1/orders``) has a small budget of its own, sized to the database pool, and every other
  HTTP request shares a larger one, so market data, the console and the pages stay responsive
  while order entry sheds. A request that finds its budget full waits at most
  ``EXCHANGE_SHED_QUEUE_MS`` (in a queue no longer than the budget) for a place; otherwise it is
  answered at once, before Django sees it, with 503, ``Retry-After`` and the usual error body.
  Work already admitted always completes. WebSockets are not counted (they are long-lived and
  hold no database connection while idle).
- ``DatabaseUnavailableMiddleware``: a request whose database work fails because PostgreSQL is
  unreachable or the pool stayed empty for ``DATABASE_POOL_TIMEOUT`` gets 503 with
  ``Retry-After`` (JSON on ``/api/``, a short page elsewhere) instead of a 500: both are
  conditions a client should retry, not bugs.

Why at the ASGI level: a refused request then costs a few microseconds, none of Django's request
set-up (which starts a thread per request), so the refusals stay fast exactly when the process is
busiest.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from exchange.infra.gateway import ORDER_ENTRY_PREFIX, ORDERS_BUSY, SERVER_BUSY, WRITE_METHODS, busy_page

log = logging.getLogger("exchange.frontdoor")


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

# Where the front door notes when a request reached this process (epoch seconds, in the ASGI scope,
# which the WSGI environ carries as ``asgi.scope``): a signed request's receive window is measured
# from its arrival, so time it then spends waiting on us (a budget, the pool, a database restart)
# never turns it into a stale one. Clients cannot set it: it is not a header.
RECEIVED_AT = "exchange.received_at"


def request_received_at(meta: dict) -> float | None:
    """When the front door saw the request behind this WSGI environ / ``request.META`` (or None)."""
    scope = meta.get("asgi.scope")
    return scope.get(RECEIVED_AT) if isinstance(scope, dict) else None


class Budget:
    """At most ``limit`` requests in flight; up to ``limit`` more may wait briefly for a place.

    Runs on the server's event loop only, so plain counters need no lock. A leaving request hands
    its place directly to the oldest waiter, so a waiter can never be overtaken by a newcomer.
    """

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = max(1, limit)
        self.in_flight = 0
        self.waiters: deque[asyncio.Future] = deque()
        self.refused = 0

    async def enter(self, wait_seconds: float) -> bool:
        if self.in_flight < self.limit and not self.waiters:
            self.in_flight += 1
            return True
        if wait_seconds <= 0 or len(self.waiters) >= self.limit:
            return False
        loop = asyncio.get_running_loop()
        place: asyncio.Future = loop.create_future()
        self.waiters.append(place)

        def expire() -> None:
            if not place.done():
                place.set_result(False)

        timer = loop.call_later(wait_seconds, expire)
        try:
            granted = await place
        except asyncio.CancelledError:
            # The client went away while waiting; a place handed over meanwhile is passed on.
            if place.done() and not place.cancelled() and place.result():
                self.leave()
            raise
        finally:
            timer.cancel()
        if not granted:
            with contextlib.suppress(ValueError):
                self.waiters.remove(place)
        return granted

    def leave(self) -> None:
        while self.waiters:
            place = self.waiters.popleft()
            if not place.done():
                place.set_result(True)  # the place changes hands: in_flight stays the same
                return
        self.in_flight -= 1


def is_order_entry(scope: Scope) -> bool:
    return scope.get("method", "") in WRITE_METHODS and scope.get("path", "").startswith(ORDER_ENTRY_PREFIX)


def _error_body(path: str, code: str, message: str) -> tuple[bytes, bytes]:
    if path.startswith("/api/"):
        return json.dumps({"error": {"code": code, "message": message}}).encode(), b"application/json"
    return busy_page(message).encode(), b"text/html; charset=utf-8"


class FrontDoor:
    """ASGI wrapper: admits HTTP requests within their budget, refuses the rest with 503."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], *, max_orders: int,
                 max_requests: int, queue_ms: int, retry_after: int) -> None:
        self.app = app
        self.orders = Budget("orders", max_orders)
        self.requests = Budget("requests", max_requests)
        self.queue_seconds = max(0, queue_ms) / 1000
        self.retry_after = str(max(1, retry_after)).encode()

    @classmethod
    def from_settings(cls, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> FrontDoor:
        return cls(app, max_orders=settings.EXCHANGE_MAX_INFLIGHT_ORDERS,
                   max_requests=settings.EXCHANGE_MAX_INFLIGHT_REQUESTS,
                   queue_ms=settings.EXCHANGE_SHED_QUEUE_MS, retry_after=settings.EXCHANGE_SHED_RETRY_AFTER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[RECEIVED_AT] = time.time()
        budget = self.orders if is_order_entry(scope) else self.requests
        if not await budget.enter(self.queue_seconds):
            budget.refused += 1
            await self._refuse(scope, send, budget)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            budget.leave()

    async def _refuse(self, scope: Scope, send: Send, budget: Budget) -> None:
        message = ORDERS_BUSY if budget is self.orders else SERVER_BUSY
        body, content_type = _error_body(scope.get("path", ""), "overloaded", message)
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", content_type), (b"retry-after", self.retry_after),
            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store"),
        ]})
        await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------ database unavailable → 503

def database_failure(exc: BaseException | None) -> str | None:
    """``overloaded`` when the pool stayed empty, ``database_unavailable`` when PostgreSQL is not
    reachable; None for any other error (a real bug stays a 500)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    with contextlib.suppress(ImportError):
        from django.db import connection
        from psycopg_pool import PoolTimeout

        if isinstance(exc.__cause__, PoolTimeout):
            # A pool grown to its cap whose connections all stayed busy is overload; a pool that
            # could not open them is a database that is down.
            pool = getattr(connection, "pool", None)  # the PostgreSQL backend's pool; not on the base wrapper
            full = pool is not None and pool.get_stats().get("pool_size", 0) >= pool.max_size
            return "overloaded" if full else "database_unavailable"
    return "database_unavailable"


def _remember_database_failure(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    import sys

    code = database_failure(sys.exc_info()[1])
    if code is not None and request is not None:
        request.exchange_database_failure = code  # type: ignore[attr-defined]


got_request_exception.connect(_remember_database_failure, dispatch_uid="exchange.frontdoor.database")


class _DatabaseFailureLogFilter(logging.Filter):
    """Django logs every uncaught exception as an error with its traceback before the response is
    swapped for a 503; for a database that is down or a pool that stayed full that is one line
    (a warning), not a traceback per request at the moment the venue is busiest."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        code = database_failure(exc)
        if code is not None:
            path = record.args[-1] if isinstance(record.args, tuple) and record.args else ""
            record.msg, record.args = "%s answered 503 (%s): %s", (path, code, exc)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("django.request").addFilter(_DatabaseFailureLogFilter())


class DatabaseUnavailableMiddleware:
    """Turns the 500 of a request that failed for want of the database into a 503 with
    ``Retry-After``. Django converts an exception to a response inside each middleware layer, so
    the failure is recognised where it is raised (``got_request_exception``) and swapped here,
    near the top of the stack."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        code = getattr(request, "exchange_database_failure", None)
        if code is None or response.status_code != 500:
            return response
        return database_failure_response(request.path, code)


def database_failure_response(path: str, code: str) -> HttpResponse:
    """The 503 with ``Retry-After`` for a request the database could not serve (see above)."""
    message = (SERVER_BUSY if code == "overloaded"
               else "the database is briefly unavailable: retry shortly")
    if path.startswith("/api/"):
        replaced: HttpResponse = JsonResponse({"error": {"code": code, "message": message}}, status=503)
    else:
        body, content_type = _error_body(path, code, message)
        replaced = HttpResponse(body, status=503, content_type=content_type.decode())
    replaced["Retry-After"] = str(max(1, settings.EXCHANGE_SHED_RETRY_AFTER))
    replaced["Cache-Control"] = "no-store"
    return replaced
