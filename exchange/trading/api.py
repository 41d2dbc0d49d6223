"""REST endpoints for orders and fills (thin: parse, call a service or selector, render)."""
from django.conf import settings
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api.errors import exception_handler
from exchange.api.fields import (
    DecimalString,
    LowerChoiceField,
    StrictBooleanField,
    StrictCharField,
    decimal_str,
)
from exchange.api.permissions import HasScope
from exchange.api.schema import PRIVATE_ERRORS, PageQuery, errors, paginated, parse_query
from exchange.api.signed_entry import SignedEntryApi
from exchange.api.throttling import AccountRateThrottle, OrderRateThrottle
from exchange.api.timerange import TimeRangeQuery, paginate
from exchange.errors import ExchangeError
from exchange.trading import selectors, services
from exchange.trading.api_examples import AMEND_EXAMPLES, ORDER_EXAMPLES
from exchange.trading.entry import STP_MODES


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    max_page_size = 500
    page_size_query_param = "limit"


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client_order_id = serializers.CharField(allow_null=True)
    market = serializers.CharField(source="market.symbol")
    side = serializers.CharField()
    type = serializers.CharField(source="order_type")
    time_in_force = serializers.CharField()
    post_only = serializers.BooleanField()
    price = DecimalString(allow_null=True)
    stop_price = DecimalString(allow_null=True)
    quantity = DecimalString(allow_null=True)
    quote_amount = DecimalString(allow_null=True)
    filled_quantity = DecimalString()
    filled_notional = DecimalString()
    fees_paid = DecimalString()
    status = serializers.CharField()
    cancel_reason = serializers.CharField()
    cancel_requested = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_cancel_requested(self, order) -> bool:
        return order.cancel_requested_at is not None


_ORDER_OUTPUT = OrderOutputSerializer()


def order_data(order) -> dict:
    """One order as the API shows it, through one shared serializer instance: building an
    ``OrderOutputSerializer`` per order deep-copies its sixteen fields, which was a third of
    the CPU of a batch of orders. (Rendering keeps no state on the instance.)"""
    return _ORDER_OUTPUT.to_representation(order)


class AmendOutput(OrderOutputSerializer):
    """The order as asked to amend (the matcher applies the new terms shortly after)."""

    priority_kept = serializers.BooleanField(
        help_text="true: same price and no larger quantity, the order keeps its place in the queue")


class OrderQuery(PageQuery, TimeRangeQuery):
    status = LowerChoiceField(choices=["open", "closed"], required=False)
    market = serializers.CharField(required=False, max_length=33)


class MarketQuery(PageQuery, TimeRangeQuery):
    market = serializers.CharField(required=False, max_length=33)


class OrderListApi(SignedEntryApi):
    """``GET /orders`` lists, ``POST /orders`` places, ``DELETE /orders?market=`` cancels all."""

    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "POST": "trade", "DELETE": "trade"}

    @extend_schema_serializer(component_name="OrderPlaceInput")
    class InputSerializer(serializers.Serializer):
        market = serializers.CharField(max_length=33)
        side = LowerChoiceField(choices=["buy", "sell"], help_text="buy or sell, in any case")
        type = LowerChoiceField(
            choices=["limit", "market", "stop_limit", "stop_market"], default="limit",
            help_text="limit (price, quantity); market (quantity, or quote_amount for a buy); stop_market "
                      "(stop_price, quantity); stop_limit (stop_price, price, quantity). Any case.")
        price = DecimalString(required=False, allow_null=True, help_text="limit price (limit, stop_limit)")
        quantity = DecimalString(required=False, allow_null=True, help_text="base quantity")
        quote_amount = DecimalString(required=False, allow_null=True,
                                     help_text="market buy only: spend this much quote asset instead of a quantity")
        stop_price = DecimalString(required=False, allow_null=True,
                                   help_text="stop_market, stop_limit: the last trade price that triggers the order")
        time_in_force = LowerChoiceField(
            choices=["gtc", "ioc", "fok"], default="gtc",
            help_text="gtc (rests until cancelled), ioc (fill what you can now, cancel the rest), fok (fill all "
                      "now or nothing). Any case. A market order is always ioc.")
        post_only = StrictBooleanField(default=False, help_text="rejected instead of taking liquidity (gtc limits)")
        client_order_id = StrictCharField(max_length=64, required=False, allow_null=True,
                                                help_text="your id: retrying with it never places twice")
        stp = LowerChoiceField(choices=STP_MODES, default="cancel_newest",
                               help_text="self-trade prevention when this order would trade with your own. Any case.")

    @extend_schema(
        parameters=[OrderQuery],
        responses={200: paginated(OrderOutputSerializer, "OrderPage"), **errors(*PRIVATE_ERRORS)},
        operation_id="orders_list",
    )
    def get(self, request):
        query = parse_query(OrderQuery, request)
        orders = selectors.order_list(user=request.user, status=query.get("status"), market=query.get("market"),
                                      since=query.get("since"), until=query.get("until"))
        paginator = NewestFirst()
        page = paginate(paginator, orders, request, self, query)
        return paginator.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OrderOutputSerializer, **errors(*PRIVATE_ERRORS)},
                   operation_id="orders_place", examples=ORDER_EXAMPLES)
    def post(self, request):
        result = services.order_place_batch(user=request.user, orders=[order_input(request.data)])[0]
        if isinstance(result, ExchangeError):
            raise result
        return Response(order_data(result), status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("market", str)], operation_id="orders_cancel_all",
                   responses={200: OrderOutputSerializer(many=True), **errors(*PRIVATE_ERRORS)})
    def delete(self, request):
        orders = services.order_cancel_all(user=request.user, market=request.query_params.get("market"))
        return Response(OrderOutputSerializer(orders, many=True).data)


_ORDER_INPUT = OrderListApi.InputSerializer()


def order_input(data: object) -> dict:
    """One order's terms as the services name them, checked by one shared ``InputSerializer``:
    a serializer made per order deep-copies its eleven fields, which was most of the CPU a batch
    of 20 spent in the view. (Its fields keep no state between calls; the errors are those
    ``is_valid`` gives.) Raises ``ValidationError``."""
    fields = dict(_ORDER_INPUT.run_validation(data))
    fields["order_type"] = fields.pop("type")
    return fields


class OrderDetailApi(APIView):
    """``GET /orders/{id}``; ``PATCH /orders/{id}`` asks to amend and ``DELETE /orders/{id}`` to
    cancel (both 202: the matcher applies them in the market's sequence)."""

    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "PATCH": "trade", "DELETE": "trade"}

    @extend_schema_serializer(component_name="OrderAmendInput")
    class AmendInputSerializer(serializers.Serializer):
        price = DecimalString(required=False, allow_null=True, help_text="the new limit price")
        quantity = DecimalString(required=False, allow_null=True,
                                 help_text="the new total quantity, what has filled included")

    @extend_schema(responses={200: OrderOutputSerializer, **errors(*PRIVATE_ERRORS)}, operation_id="orders_get")
    def get(self, request, order_id: str):
        return Response(order_data(selectors.order_get(user=request.user, order_id=order_id)))

    @extend_schema(
        request=AmendInputSerializer, examples=AMEND_EXAMPLES, operation_id="orders_amend",
        description="Amend an open limit or stop-limit order's price and/or total quantity. A smaller quantity "
                    "at the same price keeps the order's place in the queue; a new price or a larger quantity "
                    "sends it to the back (``priority_kept`` says which, as the order stands when asked). What "
                    "more it needs is held at once (else ``insufficient_funds``, nothing changed); what it needs "
                    "less is released when the matcher applies the amend. If the order fills first, the amend "
                    "changes nothing.",
        responses={202: AmendOutput, **errors(*PRIVATE_ERRORS)},
    )
    def patch(self, request, order_id: str):
        data = self.AmendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_amend(user=request.user, order_id=order_id, **data.validated_data)
        return Response({**order_data(order), "priority_kept": order.priority_kept}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={202: OrderOutputSerializer, **errors(*PRIVATE_ERRORS)}, operation_id="orders_cancel")
    def delete(self, request, order_id: str):
        order = services.order_cancel(user=request.user, order_id=order_id)
        return Response(order_data(order), status=status.HTTP_202_ACCEPTED)


class OrderByClientIdApi(APIView):
    """``GET`` and ``DELETE /orders/by-client-id/{client_order_id}``: as by id, for the order
    carrying your ``client_order_id`` (the open one, else the latest)."""

    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "DELETE": "trade"}

    @extend_schema(responses={200: OrderOutputSerializer, **errors(*PRIVATE_ERRORS)},
                   operation_id="orders_get_by_client_id")
    def get(self, request, client_order_id: str):
        return Response(order_data(selectors.order_get_by_client_id(user=request.user,
                                                                    client_order_id=client_order_id)))

    @extend_schema(responses={202: OrderOutputSerializer, **errors(*PRIVATE_ERRORS)},
                   operation_id="orders_cancel_by_client_id")
    def delete(self, request, client_order_id: str):
        order = selectors.order_get_by_client_id(user=request.user, client_order_id=client_order_id)
        order = services.order_cancel(user=request.user, order_id=order.pk)
        return Response(order_data(order), status=status.HTTP_202_ACCEPTED)


# ------------------------------------------------------------------ batch orders

def _batch_items(request, key: str) -> list:
    """The list under ``key`` in the JSON body (or, for ids, ``?ids=1,2``); a 400 if it is not
    a list of at most EXCHANGE_MAX_BATCH_ORDERS items."""
    if key == "ids" and "ids" in request.query_params:
        items: object = [i for i in request.query_params["ids"].split(",") if i.strip()]
    else:
        body = request.data
        items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise ExchangeError(f"invalid_{key}", f"{key}: a non-empty list is required")
    limit = settings.EXCHANGE_MAX_BATCH_ORDERS
    if len(items) > limit:
        raise ExchangeError("batch_too_large", f"at most {limit} items in a batch")
    # A malformed batch is refused whole; what is wrong inside a well-formed item is that item's.
    if key == "orders" and not all(isinstance(item, dict) for item in items):
        raise ExchangeError("invalid_orders", "orders: every item must be an object")
    if key == "ids":
        if not all(_is_id(item) for item in items):
            raise ExchangeError("invalid_ids", "ids: every item must be an order id (an integer)")
        items = [int(item) for item in items]
    return items


def _is_id(item: object) -> bool:
    if isinstance(item, str):
        return item.strip().isdigit() and item.isascii()
    return isinstance(item, int) and not isinstance(item, bool)


class BatchOrderRateThrottle(OrderRateThrottle):
    """The order rate limit counts every order (or cancel) of a batch, not the request."""

    def hits(self, request, view) -> int:
        try:
            return len(_batch_items(request, view.batch_key))
        except ExchangeError:
            return 1  # refused with a 400 by the view


def _error_item(exc: Exception) -> dict:
    """One item's error, in the API's error shape and with the status it would have alone."""
    response = exception_handler(exc, {})
    return {"status": response.status_code, "error": response.data["error"]}


BatchResult = inline_serializer(name="OrderBatchResult", fields={
    "results": inline_serializer(name="OrderBatchItem", many=True, fields={
        "status": serializers.IntegerField(help_text="201 (placed) or 202 (cancel asked), else the error's status"),
        "order": OrderOutputSerializer(required=False),
        "error": inline_serializer(name="OrderBatchItemError", required=False, fields={
            "code": serializers.CharField(), "message": serializers.CharField()}),
    }),
})


class OrderBatchApi(SignedEntryApi):
    """``POST /orders/batch`` places up to 20 orders, ``DELETE /orders/batch`` cancels up to 20.

    Each item gets its own result, in order: ``{"status": 201, "order": {...}}`` or
    ``{"status": 4xx, "error": {"code", "message"}}``; one bad item does not stop the others. The
    batch commits once. Every order counts against the order rate limit. A signed batch, like any
    signed request, cannot be replayed; a ``client_order_id`` makes an order idempotent.
    """

    permission_classes = [HasScope]
    required_scopes = {"POST": "trade", "DELETE": "trade"}
    throttle_classes = [AccountRateThrottle, BatchOrderRateThrottle]

    @property
    def batch_key(self) -> str:
        return "orders" if self.request.method == "POST" else "ids"

    @extend_schema(
        # Items are objects of their own: each is checked as an OrderPlaceInput and, when wrong,
        # answered in its place, so the schema does not make one bad item fail the batch.
        request=inline_serializer(name="OrderBatchPlaceInput", fields={"orders": serializers.ListField(
            child=serializers.DictField(), min_length=1, max_length=settings.EXCHANGE_MAX_BATCH_ORDERS,
            help_text="orders as for POST /orders (OrderPlaceInput)")}),
        responses={200: BatchResult, **errors(*PRIVATE_ERRORS)}, operation_id="orders_batch_place",
    )
    def post(self, request):
        items = _batch_items(request, "orders")
        valid: list[dict] = []
        results: list[dict | None] = []
        for item in items:
            try:
                valid.append(order_input(item))
                results.append(None)
            except exceptions.ValidationError as exc:
                results.append(_error_item(exc))
        placed = iter(services.order_place_batch(user=request.user, orders=valid) if valid else [])
        out = []
        for result in results:
            if result is None:
                outcome = next(placed)
                result = (_error_item(outcome) if isinstance(outcome, ExchangeError)
                          else {"status": 201, "order": order_data(outcome)})
            out.append(result)
        return Response({"results": out})

    @extend_schema(
        request=inline_serializer(name="OrderBatchCancelInput", fields={"ids": serializers.ListField(
            child=serializers.IntegerField(), min_length=1, max_length=settings.EXCHANGE_MAX_BATCH_ORDERS)}),
        parameters=[OpenApiParameter("ids", str, description="comma-separated ids, instead of the body")],
        responses={200: BatchResult, **errors(*PRIVATE_ERRORS)}, operation_id="orders_batch_cancel",
    )
    def delete(self, request):
        ids = _batch_items(request, "ids")
        outcomes = services.order_cancel_batch(user=request.user, order_ids=ids)
        return Response({"results": [
            _error_item(o) if isinstance(o, ExchangeError) else {"status": 202, "order": order_data(o)}
            for o in outcomes
        ]})


class FillOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    market = serializers.CharField(source="market.symbol")
    order_id = serializers.SerializerMethodField()
    side = serializers.SerializerMethodField()
    price = DecimalString()
    quantity = DecimalString()
    fee = serializers.SerializerMethodField()
    fee_asset = serializers.SerializerMethodField()
    liquidity = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def _is_buyer(self, fill) -> bool:
        return fill.buyer_id == self.context["user"].pk

    def get_order_id(self, fill) -> int:
        return fill.buy_order_id if self._is_buyer(fill) else fill.sell_order_id

    def get_side(self, fill) -> str:
        return "buy" if self._is_buyer(fill) else "sell"

    def get_fee(self, fill) -> str:
        return decimal_str(fill.buyer_fee if self._is_buyer(fill) else fill.seller_fee)

    def get_fee_asset(self, fill) -> str:
        """Fees are charged in the asset received: base for the buyer, quote for the seller."""
        return (fill.market.base if self._is_buyer(fill) else fill.market.quote).symbol

    def get_liquidity(self, fill) -> str:
        return "taker" if fill.aggressor == self.get_side(fill) else "maker"


class FillListApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"GET": "read"}

    @extend_schema(parameters=[MarketQuery], operation_id="fills_list",
                   responses={200: paginated(FillOutputSerializer, "FillPage"), **errors(*PRIVATE_ERRORS)})
    def get(self, request):
        query = parse_query(MarketQuery, request)
        fills = selectors.fill_list(user=request.user, market=query.get("market"), since=query.get("since"),
                                    until=query.get("until"))
        paginator = NewestFirst()
        page = paginate(paginator, fills, request, self, query)
        data = FillOutputSerializer(page, many=True, context={"user": request.user}).data
        return paginator.get_paginated_response(data)
