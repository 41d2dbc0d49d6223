"""Public market data under ``/api/v1/`` (thin: parse, call a selector, render).

No authentication: everything here is public. Decimals are strings, errors the API's one shape.
"""
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api.fields import DecimalString
from exchange.api.schema import ErrorBody, errors
from exchange.api.timerange import InstantField, TimeRangeQuery
from exchange.marketdata import selectors
from exchange.marketdata.checksum import CHECKSUM_LEVELS
from exchange.marketdata.models import INTERVALS
from exchange.markets.rules import market_symbol_parse
from exchange.markets.selectors import market_get


def _levels() -> serializers.ListField:
    return serializers.ListField(child=serializers.ListField(
        child=serializers.CharField(), min_length=2, max_length=2, help_text="[price, quantity] as decimal strings"))
# Sequences are PostgreSQL bigints: a larger number is a 400 here, not an error in the database.
MAX_SEQUENCE = 2**63 - 1
CHECKSUM_HELP = (f"CRC32 of the best {CHECKSUM_LEVELS} levels per side: crc32(bids ';' asks), each side "
                 "'price:quantity' joined by ',' best first, decimals without exponent or trailing zeros.")


def _market(symbol: str):
    """The market named in the path; anything that cannot be a symbol is ``unknown_market``."""
    return market_get(symbol=market_symbol_parse(symbol))


class PublicApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class MarketListApi(PublicApi):
    @extend_schema_serializer(component_name="Market")
    class OutputSerializer(serializers.Serializer):
        symbol = serializers.CharField()
        base = serializers.CharField(source="base.symbol")
        quote = serializers.CharField(source="quote.symbol")
        status = serializers.CharField()
        tick_size = DecimalString()
        lot_size = DecimalString()
        min_notional = DecimalString()
        min_quantity = DecimalString()
        max_quantity = DecimalString(allow_null=True)
        price_band_pct = DecimalString(allow_null=True)
        maker_fee = DecimalString()
        taker_fee = DecimalString()
        last_price = DecimalString(allow_null=True)

    @extend_schema(responses={200: OutputSerializer(many=True)}, operation_id="markets_list")
    def get(self, request):
        return Response(self.OutputSerializer(selectors.market_list(), many=True).data)


class BookDepthApi(PublicApi):
    """``GET markets/{symbol}/depth?levels=N``: the book at ``sequence`` (the same state a
    WebSocket snapshot gives), best first."""

    class InputSerializer(serializers.Serializer):
        levels = serializers.IntegerField(min_value=1, max_value=selectors.MAX_LEVELS, default=100)

    @extend_schema_serializer(component_name="BookDepth")
    class OutputSerializer(serializers.Serializer):
        market = serializers.CharField()
        sequence = serializers.IntegerField()
        bids = _levels()
        asks = _levels()
        checksum = serializers.IntegerField(help_text=CHECKSUM_HELP)

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer, **errors(400, 404)},
                   operation_id="markets_depth")
    def get(self, request, symbol: str):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        market = _market(symbol)
        book = selectors.book_snapshot(market=market, levels=params.validated_data["levels"])
        return Response(self.OutputSerializer({"market": market.symbol, "sequence": book.sequence,
                                               "bids": book.bids, "asks": book.asks, "checksum": book.checksum}).data)


@extend_schema_serializer(component_name="BookMessage")
class BookMessageSerializer(serializers.Serializer):
    type = serializers.CharField()
    market = serializers.CharField()
    sequence = serializers.IntegerField()
    prev_sequence = serializers.IntegerField()
    changes = serializers.ListField(child=serializers.ListField(child=serializers.CharField()),
                                    help_text="[side (buy|sell), price, quantity]; quantity '0' removes the level")
    checksum = serializers.IntegerField(help_text=CHECKSUM_HELP)


class BookUpdateListApi(PublicApi):
    """``GET markets/{symbol}/book-updates?after=SEQ``: the book messages after ``SEQ``, exactly
    as the WebSocket sent them, for a client that missed some. Kept for a few minutes; outside that
    window (or if ``SEQ`` was never a book sequence) the answer is 410 ``resnapshot_required``."""

    class InputSerializer(serializers.Serializer):
        after = serializers.IntegerField(min_value=0, max_value=MAX_SEQUENCE)

    @extend_schema_serializer(component_name="BookUpdates")
    class OutputSerializer(serializers.Serializer):
        market = serializers.CharField()
        after = serializers.IntegerField()
        sequence = serializers.IntegerField(help_text="The book's sequence now.")
        updates = BookMessageSerializer(many=True)

    @extend_schema(parameters=[InputSerializer], operation_id="markets_book_updates", responses={
        200: OutputSerializer, **errors(400, 404),
        410: OpenApiResponse(ErrorBody, description="Code resnapshot_required: take a new snapshot."),
    })
    def get(self, request, symbol: str):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        market = _market(symbol)
        after = params.validated_data["after"]
        head, updates = selectors.book_updates_after(market=market, after=after)
        return Response({"market": market.symbol, "after": after, "sequence": head, "updates": updates})


class TradeListApi(PublicApi):
    class InputSerializer(TimeRangeQuery):
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
        before = serializers.IntegerField(min_value=0, max_value=MAX_SEQUENCE, required=False,
                                          help_text="Only trades with a smaller sequence.")

    @extend_schema_serializer(component_name="Trade")
    class OutputSerializer(serializers.Serializer):
        trade_id = serializers.CharField()
        sequence = serializers.IntegerField()
        price = DecimalString()
        quantity = DecimalString()
        side = serializers.CharField(help_text="The taker's side.")
        ts = serializers.DateTimeField()

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer(many=True), **errors(400, 404)},
                   operation_id="markets_trades")
    def get(self, request, symbol: str):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        trades = selectors.trade_list(market=_market(symbol), **params.validated_data)
        return Response(self.OutputSerializer(trades, many=True).data)


class CandleListApi(PublicApi):
    class InputSerializer(TimeRangeQuery):
        interval = serializers.ChoiceField(choices=list(INTERVALS))
        start = serializers.DateTimeField(required=False, help_text="as since, ISO 8601 only")
        end = serializers.DateTimeField(required=False, help_text="as until, ISO 8601 only")
        since = InstantField(help_text="The first candle: the one open at this time (ms since the epoch or ISO 8601).")
        until = InstantField(help_text="The last candle: the one open at this time.")
        limit = serializers.IntegerField(min_value=1, max_value=1500, default=500)

        def validate(self, attrs: dict) -> dict:
            attrs = super().validate(attrs)
            since, until = attrs.pop("since"), attrs.pop("until")
            attrs["start"] = since or attrs.get("start")
            attrs["end"] = until or attrs.get("end")
            return attrs

    @extend_schema_serializer(component_name="Candle")
    class OutputSerializer(serializers.Serializer):
        open_time = serializers.DateTimeField()
        open = DecimalString()
        high = DecimalString()
        low = DecimalString()
        close = DecimalString()
        volume = DecimalString()
        quote_volume = DecimalString()
        trades = serializers.IntegerField()

    @extend_schema(parameters=[InputSerializer], responses={200: OutputSerializer(many=True), **errors(400, 404)},
                   operation_id="markets_candles")
    def get(self, request, symbol: str):
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        candles = selectors.candle_list(market=_market(symbol), **params.validated_data)
        return Response(self.OutputSerializer(candles, many=True).data)


@extend_schema_serializer(component_name="Ticker")
class TickerOutputSerializer(serializers.Serializer):
    market = serializers.CharField()
    sequence = serializers.IntegerField()
    last = DecimalString(allow_null=True)
    open = DecimalString(allow_null=True)
    change = DecimalString(allow_null=True)
    change_pct = DecimalString(allow_null=True)
    high = DecimalString(allow_null=True)
    low = DecimalString(allow_null=True)
    volume = DecimalString()
    quote_volume = DecimalString()
    trades = serializers.IntegerField()
    best_bid = DecimalString(allow_null=True)
    best_ask = DecimalString(allow_null=True)
    window_start = serializers.DateTimeField()
    ts = serializers.DateTimeField()


class TickerDetailApi(PublicApi):
    OutputSerializer = TickerOutputSerializer

    @extend_schema(responses={200: TickerOutputSerializer, **errors(404)}, operation_id="markets_ticker")
    def get(self, request, symbol: str):
        return Response(self.OutputSerializer(selectors.ticker_get(market=_market(symbol))).data)


class TickerListApi(PublicApi):
    OutputSerializer = TickerOutputSerializer

    @extend_schema(responses={200: TickerOutputSerializer(many=True)}, operation_id="tickers_list")
    def get(self, request):
        return Response(self.OutputSerializer(selectors.ticker_list(), many=True).data)
