"""WebSocket routes: the public market streams and the private user stream (exchange.marketdata)."""
from django.urls import path

from exchange.marketdata.consumers import MarketConsumer, UserConsumer
from exchange.marketdata.stream import StreamConsumer

websocket_urlpatterns: list = [
    path("ws/markets/<str:symbol>/", MarketConsumer.as_asgi()),
    path("ws/stream/", StreamConsumer.as_asgi()),
    path("ws/user/", UserConsumer.as_asgi()),
]
