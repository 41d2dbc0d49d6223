"""Public market data under /api/v1/ (filled in by the market-data app)."""
urlpatterns: list = []
