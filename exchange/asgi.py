"""ASGI entry point for Daphne: HTTP through Django, WebSockets through Channels.

HTTP goes to Django's WSGI handler on a pool of ``EXCHANGE_WEB_THREADS`` threads (a2wsgi).
Django's own ASGI handler runs every sync view of a process on ONE thread and hops between the
event loop and that thread at each sync middleware: requests of a process ran one at a time, and
order entry's group commit (exchange/trading/committer.py) never saw two orders together. On a
thread pool the requests of a process run side by side, each borrowing a pooled connection.
"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
# A web process borrows database connections from a capped pool (settings: DATABASE_POOL_*);
# the processes it might start do not inherit that default.
_pool_by_default = "DATABASE_POOL" not in os.environ
os.environ.setdefault("DATABASE_POOL", "true")
django_wsgi_app = get_wsgi_application()
if _pool_by_default:
    del os.environ["DATABASE_POOL"]

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from exchange.infra import daphne_tuning  # noqa: E402
from exchange.infra.health import LivenessProbe  # noqa: E402
from exchange.infra.shedding import FrontDoor  # noqa: E402
from exchange.marketdata.depth_door import BookDepthDoor  # noqa: E402
from exchange.matching.gc_policy import freeze_loaded_state  # noqa: E402
from exchange.routing import websocket_urlpatterns  # noqa: E402
from exchange.trading.entry_door import SignedOrderDoor  # noqa: E402

daphne_tuning.install()
# Import every view now, not on the first request: a process the gateway has just put in rotation
# must answer its first order at once (the URLconf's imports took seconds on a busy box, and the
# first signed order aged past its receive window waiting for them).
get_resolver().url_patterns  # noqa: B018  # Twisted parses no POST body Daphne would throw away
# What is loaded now (modules, the URLconf, settings: some 177,000 objects) lives as long as the
# process. Exempt from the collector, a full collection walks only what requests left behind: it
# walked everything, holding the GIL for 70 ms on an idle box and far longer on a busy one, every
# few seconds under load, and the web process's every request waited.
freeze_loaded_state()

application = ProtocolTypeRouter(
    {
        # /healthz first (never shed); then bounded in-flight requests with fast 503s.
        # The ignore: a2wsgi, Django and FrontDoor each spell the standard WSGI and ASGI
        # callables with their own protocol types, which mypy cannot match.
        # The public book's depth is answered on the event loop (marketdata/depth_door.py);
        # signed order entry goes straight to its views (trading/entry_door.py).
        "http": LivenessProbe(FrontDoor.from_settings(BookDepthDoor(SignedOrderDoor(
            WSGIMiddleware(django_wsgi_app, workers=settings.EXCHANGE_WEB_THREADS),  # type: ignore[arg-type]
            threads=settings.EXCHANGE_MAX_INFLIGHT_ORDERS)))),  # a thread for every admitted order
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
