"""REST endpoints for balances, ledger history and the demo faucet."""
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api.fields import DecimalString, decimal_str
from exchange.api.permissions import HasScope
from exchange.api.schema import PRIVATE_ERRORS, NewestFirstPage, PageQuery, errors, paginated, parse_query
from exchange.api.timerange import TimeRangeQuery, paginate
from exchange.errors import ExchangeError
from exchange.ledger import selectors, services
from exchange.markets.models import Asset


class BalanceOutputSerializer(serializers.Serializer):
    asset = serializers.CharField(source="asset.symbol")
    available = DecimalString()
    held = DecimalString()
    total = serializers.SerializerMethodField()

    def get_total(self, balance) -> str:
        return decimal_str(balance.available + balance.held)


class BalanceListApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"GET": "read"}

    @extend_schema(responses={200: BalanceOutputSerializer(many=True), **errors(*PRIVATE_ERRORS)},
                   operation_id="balances_list")
    def get(self, request):
        return Response(BalanceOutputSerializer(selectors.balance_list(user=request.user), many=True).data)


class PostingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    asset = serializers.CharField(source="asset.symbol")
    bucket = serializers.CharField()
    amount = DecimalString()
    kind = serializers.CharField(source="entry.kind")
    reference = serializers.CharField(source="entry.reference")
    created_at = serializers.DateTimeField(source="entry.created_at")


class LedgerQuery(PageQuery, TimeRangeQuery):
    asset = serializers.CharField(required=False, max_length=16)


class LedgerListApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"GET": "read"}

    @extend_schema(parameters=[LedgerQuery], operation_id="ledger_list",
                   responses={200: paginated(PostingOutputSerializer, "LedgerPage"), **errors(*PRIVATE_ERRORS)})
    def get(self, request):
        query = parse_query(LedgerQuery, request)
        postings = selectors.posting_list(user=request.user, asset=query.get("asset"), since=query.get("since"),
                                          until=query.get("until"))
        paginator = NewestFirstPage()
        page = paginate(paginator, postings, request, self, query)
        return paginator.get_paginated_response(PostingOutputSerializer(page, many=True).data)


class FaucetApi(APIView):
    """Demo mode only: credit play money to the caller."""

    permission_classes = [HasScope]
    required_scopes = {"POST": "trade"}

    @extend_schema_serializer(component_name="FaucetInput")
    class InputSerializer(serializers.Serializer):
        asset = serializers.RegexField(r"^[A-Za-z0-9]{2,16}$", max_length=16)
        amount = DecimalString()

    @extend_schema(request=InputSerializer, operation_id="faucet_credit",
                   responses={201: BalanceOutputSerializer(many=True), **errors(*PRIVATE_ERRORS)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        asset = Asset.objects.filter(symbol=data.validated_data["asset"].upper()).first()
        if asset is None:
            raise ExchangeError("unknown_asset", "no such asset", status=404)
        services.faucet_credit(user=request.user, asset=asset, amount=data.validated_data["amount"])
        balances = selectors.balance_list(user=request.user)
        return Response(BalanceOutputSerializer(balances, many=True).data, status=status.HTTP_201_CREATED)
