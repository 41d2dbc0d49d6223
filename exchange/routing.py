"""WebSocket routes. The market-data and user streams are added by the market-data app."""
websocket_urlpatterns: list = []
