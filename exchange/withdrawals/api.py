"""``POST /withdrawals`` (scope ``withdraw``), ``GET /withdrawals`` (scope ``read``) and
``POST /withdrawals/{id}/cancel`` (scope ``withdraw``). A browser session may request a
withdrawal only with a current two-factor code (``otp_token``); an API key needs the
``withdraw`` scope, which no key has unless its owner chose it (with their second factor)."""
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.accounts.models import ApiKey
from exchange.api.fields import DecimalString, StrictCharField
from exchange.api.permissions import HasScope
from exchange.api.schema import PRIVATE_ERRORS, NewestFirstPage, PageQuery, errors, paginated, parse_query
from exchange.ledger.models import WithdrawalStatus
from exchange.withdrawals import selectors, services


class WithdrawalOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    asset = serializers.CharField(source="asset.symbol")
    network = serializers.CharField()
    amount = DecimalString()
    fee = DecimalString()
    address = serializers.CharField()
    status = serializers.CharField()
    txid = serializers.CharField()
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WithdrawalQuery(PageQuery):
    asset = serializers.CharField(required=False, max_length=16)
    status = serializers.ChoiceField(required=False, choices=WithdrawalStatus.values)


class WithdrawalListApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"GET": "read", "POST": "withdraw"}

    @extend_schema_serializer(component_name="WithdrawalInput")
    class InputSerializer(serializers.Serializer):
        asset = StrictCharField(max_length=16)
        amount = DecimalString()
        address = StrictCharField(max_length=128)
        otp_token = StrictCharField(max_length=16, required=False, help_text="browser sessions only: a current code")

    @extend_schema(parameters=[WithdrawalQuery], operation_id="withdrawals_list",
                   responses={200: paginated(WithdrawalOutputSerializer, "WithdrawalPage"), **errors(*PRIVATE_ERRORS)})
    def get(self, request):
        query = parse_query(WithdrawalQuery, request)
        rows = selectors.withdrawal_list(user=request.user, asset=query.get("asset"), status=query.get("status"))
        paginator = NewestFirstPage()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(WithdrawalOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, operation_id="withdrawals_create",
                   description="Hold amount + the asset's fee at once and queue the withdrawal (status requested).",
                   responses={201: WithdrawalOutputSerializer, **errors(*PRIVATE_ERRORS)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        withdrawal = services.withdrawal_create(
            user=request.user, asset=values["asset"], amount=values["amount"], address=values["address"],
            otp_token=values.get("otp_token"), second_factor=not isinstance(request.auth, ApiKey))
        return Response(WithdrawalOutputSerializer(withdrawal).data, status=status.HTTP_201_CREATED)


class WithdrawalCancelApi(APIView):
    permission_classes = [HasScope]
    required_scopes = {"POST": "withdraw"}

    @extend_schema(request=None, operation_id="withdrawals_cancel",
                   description="Cancel a withdrawal still requested; its hold is released.",
                   responses={200: WithdrawalOutputSerializer, **errors(*PRIVATE_ERRORS)})
    def post(self, request, withdrawal_id: str):
        withdrawal = services.withdrawal_cancel(user=request.user, withdrawal_id=withdrawal_id)
        return Response(WithdrawalOutputSerializer(withdrawal).data)
