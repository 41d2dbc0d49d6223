"""Public market data under /api/v1/."""
from django.urls import path

from exchange.marketdata import api

urlpatterns = [
    path("markets", api.MarketListApi.as_view(), name="api-markets"),
    path("markets/<str:symbol>/depth", api.BookDepthApi.as_view(), name="api-market-depth"),
    path("markets/<str:symbol>/book-updates", api.BookUpdateListApi.as_view(), name="api-market-book-updates"),
    path("markets/<str:symbol>/trades", api.TradeListApi.as_view(), name="api-market-trades"),
    path("markets/<str:symbol>/candles", api.CandleListApi.as_view(), name="api-market-candles"),
    path("markets/<str:symbol>/ticker", api.TickerDetailApi.as_view(), name="api-market-ticker"),
    path("tickers", api.TickerListApi.as_view(), name="api-tickers"),
]
