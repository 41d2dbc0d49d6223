"""WebSocket routes: the public market stream and the private user stream (exchange.marketdata)."""
from django.urls import path

from exchange.marketdata.consumers import MarketConsumer, UserConsumer

websocket_urlpatterns: list = [
    path("ws/markets/<str:symbol>/", MarketConsumer.as_asgi()),
    path("ws/user/", UserConsumer.as_asgi()),
]
