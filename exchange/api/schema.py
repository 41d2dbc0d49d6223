"""OpenAPI pieces shared by every endpoint: the error body, error responses, API-key security."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import CursorPagination

ErrorBody = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={"code": serializers.CharField(), "message": serializers.CharField()},
        )
    },
)

ERROR_CODES = {
    400: "Bad input. Codes: invalid_<field>, <field>_too_large, <field>_precision, tick_size, lot_size, min_notional, "
         "min_quantity, max_quantity, price_band, no_reference_price, insufficient_funds, amend_needs_more_funds, "
         "invalid_request, malformed_request, faucet_limit, market_delisted, not_on_chain.",
    401: "Not authenticated. Codes: not_authenticated, signature_missing, invalid_api_key, api_key_revoked, "
         "invalid_timestamp, stale_timestamp, invalid_signature, replayed_request.",
    403: "Not allowed. Codes: missing_scope, ip_not_allowed, account_frozen, permission_denied.",
    404: "Not found. Codes: unknown_order, unknown_market, unknown_asset, faucet_disabled, not_found.",
    409: "Conflict with the current state. Codes: order_not_open, market_halted, market_cancel_only, "
         "market_post_only, open_order_limit, deposits_unavailable.",
    429: "Rate limited (see Retry-After). Code: rate_limited.",
}


def errors(*statuses: int) -> dict:
    """OpenAPI responses for these error statuses, each with the error body and its codes."""
    return {status: OpenApiResponse(ErrorBody, description=ERROR_CODES[status]) for status in statuses}


PRIVATE_ERRORS = (400, 401, 403, 404, 409, 429)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "exchange.api.authentication.ApiKeyAuthentication"
    name = ["ApiKey", "ApiTimestamp", "ApiSignature"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
            {"type": "apiKey", "in": "header", "name": "X-API-TIMESTAMP",
             "description": "Milliseconds since the epoch; within the receive window (5 s)."},
            {"type": "apiKey", "in": "header", "name": "X-API-SIGNATURE",
             "description": "hex HMAC-SHA256(secret, timestamp + METHOD + path_with_query + body)."},
        ]


def paginated(serializer_class, name: str):
    """The schema of a cursor-paginated list of ``serializer_class``."""
    return inline_serializer(
        name=name,
        fields={
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


class NewestFirstPage(CursorPagination):
    """The cursor pagination of the private lists (ledger, deposits, withdrawals): newest first,
    ``limit`` per page (``PageQuery`` caps it)."""

    ordering = "-id"
    page_size = 100
    max_page_size = 500
    page_size_query_param = "limit"


class PageQuery(serializers.Serializer):
    """Query parameters of every paginated list."""

    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)
    cursor = serializers.CharField(required=False, max_length=200)


def parse_query(serializer_class, request) -> dict:
    """Validate query parameters strictly: a malformed one is a 400, never silently ignored."""
    query = serializer_class(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    return query.validated_data
