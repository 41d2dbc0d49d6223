"""The short way in for signed order entry: straight from the door's checks to the DRF view.

A signed ``POST /api/v1/orders`` (or ``/orders/batch``) needs none of the browser's middleware:
DRF authenticates it by its API key (``ApiKeyAuthentication`` comes first and, once a request
carries ``X-API-KEY``, either accepts the signature or refuses; it never falls back to the
session), checks the key's scope, throttles, parses and answers errors in the API's shape. Yet
each such request also paid for sessions, CSRF, the user and OTP lookups, CSP, the audit
context, messages and django-axes, and for resolving its URL: about a tenth of a web process's
CPU per order under load. This middleware sits right after the door's own checks (host, IP rate
limit, input hygiene) and hands those requests to the view itself; everything else, the
browser's session-authenticated orders included, goes the long way unchanged.
"""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from exchange.trading.api import OrderBatchApi, OrderListApi


class OrderEntryShortcutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._views: dict[str, Callable] | None = None

    def _routes(self) -> dict[str, Callable]:
        if self._views is None:  # not in __init__: the URLconf may not be loaded yet
            self._views = {reverse("api-orders"): OrderListApi.as_view(),
                           reverse("api-orders-batch"): OrderBatchApi.as_view()}
        return self._views

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and "HTTP_X_API_KEY" in request.META:
            view = self._routes().get(request.path_info)
            if view is not None:
                response = view(request)
                return response.render()  # what Django's handler does after a view's Response
        return self.get_response(request)
