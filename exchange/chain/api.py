"""``/api/v1/assets`` and the deposit endpoints (thin: parse, call a selector or service, render).

Nothing here imports web3: deposit addresses derive with bip_utils, everything else is the database.
"""
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.api.fields import decimal_str
from exchange.api.permissions import HasScope
from exchange.api.schema import PRIVATE_ERRORS, NewestFirstPage, PageQuery, errors, paginated, parse_query
from exchange.chain import selectors, services
from exchange.chain.messages import deposit_message


@extend_schema_serializer(component_name="Asset")
class AssetOutputSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    decimals = serializers.IntegerField(help_text="Decimal places the exchange keeps for this asset.")
    network = serializers.SerializerMethodField()
    kind = serializers.SerializerMethodField(help_text="native or erc20; null off chain")
    contract_address = serializers.SerializerMethodField()
    chain_decimals = serializers.SerializerMethodField(help_text="The chain's decimals (ETH 18, USDT 6).")
    confirmations = serializers.SerializerMethodField()
    min_deposit = serializers.SerializerMethodField()
    min_withdrawal = serializers.SerializerMethodField()
    withdrawal_fee = serializers.SerializerMethodField()

    @staticmethod
    def _chain(asset):
        return getattr(asset, "chain", None)

    def get_network(self, asset) -> str | None:
        chain = self._chain(asset)
        return chain.network if chain else None

    def get_kind(self, asset) -> str | None:
        chain = self._chain(asset)
        return chain.kind if chain else None

    def get_contract_address(self, asset) -> str | None:
        chain = self._chain(asset)
        return (chain.contract_address or None) if chain else None

    def get_chain_decimals(self, asset) -> int | None:
        chain = self._chain(asset)
        return chain.chain_decimals if chain else None

    def get_confirmations(self, asset) -> int | None:
        chain = self._chain(asset)
        return chain.confirmations if chain else None

    def get_min_deposit(self, asset) -> str | None:
        chain = self._chain(asset)
        return decimal_str(chain.min_deposit) if chain else None

    def get_min_withdrawal(self, asset) -> str | None:
        chain = self._chain(asset)
        return decimal_str(chain.min_withdrawal) if chain else None

    def get_withdrawal_fee(self, asset) -> str | None:
        chain = self._chain(asset)
        return decimal_str(chain.withdrawal_fee) if chain else None


class AssetListApi(APIView):
    """Public: every asset; those on a chain with their network, contract, decimals and rules."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: AssetOutputSerializer(many=True)}, operation_id="assets_list")
    def get(self, request):
        return Response(AssetOutputSerializer(selectors.asset_list_with_chain(), many=True).data)


class DepositAddressApi(APIView):
    """``GET deposit-address?asset=ETH|USDT``: the caller's address on the asset's network."""

    permission_classes = [HasScope]
    required_scopes = {"GET": "read"}

    class QuerySerializer(serializers.Serializer):
        asset = serializers.RegexField(r"^[A-Za-z0-9]{2,16}$", max_length=16)

    @extend_schema_serializer(component_name="DepositAddress")
    class OutputSerializer(serializers.Serializer):
        asset = serializers.CharField()
        network = serializers.CharField()
        address = serializers.CharField(help_text="EIP-55 checksummed")

    @extend_schema(parameters=[QuerySerializer], operation_id="deposit_address_get",
                   responses={200: OutputSerializer, **errors(*PRIVATE_ERRORS)})
    def get(self, request):
        query = parse_query(self.QuerySerializer, request)
        chain_asset, address = services.deposit_address_for_asset(user=request.user, symbol=query["asset"])
        return Response({"asset": chain_asset.asset.symbol, "network": address.network, "address": address.address})


@extend_schema_serializer(component_name="Deposit")
class DepositOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    asset = serializers.CharField()
    network = serializers.CharField()
    amount = serializers.CharField()
    txid = serializers.CharField()
    confirmations = serializers.IntegerField()
    required_confirmations = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["pending", "credited", "orphaned"])
    created_at = serializers.DateTimeField()


class DepositListApi(APIView):
    """``GET deposits``: the caller's deposits, newest first, cursor-paginated."""

    permission_classes = [HasScope]
    required_scopes = {"GET": "read"}

    @extend_schema(parameters=[PageQuery], operation_id="deposits_list",
                   responses={200: paginated(DepositOutputSerializer, "DepositPage"), **errors(*PRIVATE_ERRORS)})
    def get(self, request):
        parse_query(PageQuery, request)
        paginator = NewestFirstPage()
        page = paginator.paginate_queryset(selectors.deposit_list(user=request.user), request, view=self)
        return paginator.get_paginated_response([deposit_message(d) for d in page])
