"""ASGI entry point for Daphne: HTTP through Django, WebSockets through Channels."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")
# A web process borrows database connections from a capped pool (settings: DATABASE_POOL_*);
# the processes it might start do not inherit that default.
_pool_by_default = "DATABASE_POOL" not in os.environ
os.environ.setdefault("DATABASE_POOL", "true")
django_asgi_app = get_asgi_application()
if _pool_by_default:
    del os.environ["DATABASE_POOL"]

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from exchange.infra.health import LivenessProbe  # noqa: E402
from exchange.infra.shedding import FrontDoor  # noqa: E402
from exchange.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # /healthz first (never shed); then bounded in-flight requests with fast 503s.
        "http": LivenessProbe(FrontDoor.from_settings(django_asgi_app)),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
