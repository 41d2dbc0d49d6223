"""The short way in for signed order entry: from the ASGI door straight to the order views.

A signed ``POST /api/v1/orders`` (or ``/orders/batch``) needs none of the browser's machinery:
DRF authenticates it by its API key (``ApiKeyAuthentication`` comes first and, once a request
carries ``X-API-KEY``, either accepts the signature or refuses; it never falls back to the
session), checks the key's scope, throttles, parses and answers errors in the API's shape. Yet
through Django's request cycle each such request also paid for a2wsgi's hand-over (a WSGI
environ, a thread, a response queue), the request signals, URL resolution and a dozen
middleware layers it had no use for: under load more of a web process's CPU per order than the
view itself. ``SignedOrderDoor`` sits in the ASGI stack right behind the front door's budgets
(``infra/shedding.FrontDoor``), builds the request from the ASGI scope and runs, on a thread of
its own pool, only what such a request needs of the middleware (input hygiene, the per-address
limit, counted with the view's own Redis trip, the database-failure 503) and then the DRF view
itself, so its answers, refusals included, are the view's. Everything else, the browser's
session-authenticated orders included, goes the long way unchanged.
"""
from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, connections
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from django.template.response import SimpleTemplateResponse
from django.urls import reverse

from exchange.api.errors import json_error
from exchange.api.hygiene import bad_input, input_refusal, json_shaped
from exchange.api.throttling import PendingAddressCount, ip_limited_response, ip_window
from exchange.infra.shedding import database_failure, database_failure_response
from exchange.trading.api import OrderBatchApi, OrderListApi

log = logging.getLogger("exchange.trading.entry_door")
# The headers Django's SecurityMiddleware gives every response (nosniff, referrer and opener
# policies, HSTS over HTTPS); it reads only settings, so one instance serves every thread.
_SECURITY_HEADERS = SecurityMiddleware(lambda request: HttpResponse())

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class SignedOrderDoor:
    """ASGI: answers signed order entry itself, hands every other request to ``app``."""

    def __init__(self, app: App, *, threads: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="signed-entry")
        self._views: dict[str, Callable[..., HttpResponse]] | None = None

    def close(self) -> None:
        """Give back the database connections of the door's threads and stop them (tests)."""
        for _ in range(self.executor._max_workers):
            self.executor.submit(connections.close_all)
        self.executor.shutdown(wait=True)

    def _routes(self) -> dict[str, Callable[..., HttpResponse]]:
        if self._views is None:  # not in __init__: the URLconf may not be loaded yet
            self._views = {reverse("api-orders"): OrderListApi.as_view(),
                           reverse("api-orders-batch"): OrderBatchApi.as_view()}
        return self._views

    def view_for(self, scope: Scope) -> Callable[..., HttpResponse] | None:
        """The order view a signed order-entry request goes to, or None (the long way)."""
        if scope["type"] != "http" or scope.get("method") != "POST":
            return None
        view = self._routes().get(scope.get("path", ""))
        if view is None or not any(name == b"x-api-key" for name, _ in scope.get("headers", ())):
            return None
        return view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        view = self.view_for(scope)
        if view is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, settings.EXCHANGE_API_MAX_BODY_BYTES)
        if body is None:
            return  # the client went away before sending its order: nothing to answer
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self.executor, answer, view, scope, body)
        await _send_response(send, response)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body; one byte past ``limit`` is enough to refuse it (413), so no more is kept."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        if size <= limit:
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def answer(view: Callable[..., HttpResponse], scope: Scope, body: bytes) -> HttpResponse:
    """What Django's request cycle would answer this signed order request, through only the
    layers it needs; runs on a thread (the view reads the database and waits for its group
    commit) and gives the thread's database connection back to the pool afterwards."""
    query = scope.get("query_string", b"")
    readable = _is_utf8(query)
    request = ASGIRequest(scope if readable else {**scope, "query_string": b""}, io.BytesIO(body))
    request.META["asgi.scope"] = scope  # where the receive window finds the arrival time
    # The body as received, whatever the headers said (a chunked request has no Content-Length;
    # the long way read it as empty).
    request.META["CONTENT_LENGTH"] = str(len(body))
    try:
        response = _answer(view, request, body, readable)
    except Exception as exc:
        code = database_failure(exc)
        if code is None:
            log.exception("signed order entry failed: %s", request.path)
            response = json_error("server_error", "internal error", 500)
        else:
            log.warning("%s answered 503 (%s): %s", request.path, code, exc)
            response = database_failure_response(request.path, code)
    finally:
        close_old_connections()
    return _SECURITY_HEADERS.process_response(request, response)


def _is_utf8(query: object) -> bool:
    if not isinstance(query, bytes):
        return True
    try:
        query.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _answer(view: Callable[..., HttpResponse], request: ASGIRequest, body: bytes, readable: bool) -> HttpResponse:
    if not readable:
        return bad_input(request, "the query string is not UTF-8")
    refusal = input_refusal(request)  # the body's size too: CONTENT_LENGTH is what was read
    if refusal is not None:
        return bad_input(request, *refusal)
    # The address count rides on the view's own Redis trip (api/signed_entry.py); a request
    # refused before that trip is counted after it, and an address over its limit gets its 429
    # whatever the view answered, as if it had been counted first.
    address = request.address_count = PendingAddressCount(ip_window(request))  # type: ignore[attr-defined]
    try:
        response = view(request)
    finally:
        address.count_now()
    if address.wait is not None:
        return ip_limited_response(address.wait)
    if isinstance(response, SimpleTemplateResponse):
        response.render()  # what Django's handler does after a view's (DRF) Response
    return json_shaped(request, response)


async def _send_response(send: Send, response: HttpResponse) -> None:
    headers = [(b"content-type", response["Content-Type"].encode("latin1"))]
    headers += [(name.lower().encode("latin1"), value.encode("latin1"))
                for name, value in response.items() if name.lower() not in ("content-type", "content-length")]
    body = response.content
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
