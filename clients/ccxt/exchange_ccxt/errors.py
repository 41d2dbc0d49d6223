"""The venue's error codes as ccxt exception classes.

The venue answers every refusal with ``{"error": {"code", "message"}}`` and a 4xx/5xx status.
Bots written against ccxt branch on exception *classes* (``except InsufficientFunds``), never on
a venue's words, so each stable code maps to the ccxt class a bot would expect on any other
venue. A code not listed here falls back on its HTTP status (``STATUS``), so a code the venue adds
later still raises something a bot can handle sensibly.
"""
from ccxt.base.errors import (
    AccountSuspended,
    AuthenticationError,
    BadRequest,
    BadSymbol,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidNonce,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
)

EXACT: dict[str, type[ExchangeError] | type[Exception]] = {
    # Funds: the order (or the amend) needs more than is available.
    "insufficient_funds": InsufficientFunds,
    "amend_needs_more_funds": InsufficientFunds,
    # The order breaks the market's rules: fix the order, not the request.
    "tick_size": InvalidOrder,
    "lot_size": InvalidOrder,
    "min_notional": InvalidOrder,
    "min_quantity": InvalidOrder,
    "max_quantity": InvalidOrder,
    "price_band": InvalidOrder,
    "no_reference_price": InvalidOrder,
    "invalid_price": InvalidOrder,
    "invalid_quantity": InvalidOrder,
    "invalid_quote_amount": InvalidOrder,
    "invalid_stop_price": InvalidOrder,
    "invalid_post_only": InvalidOrder,
    "invalid_time_in_force": InvalidOrder,
    "invalid_type": InvalidOrder,
    "invalid_side": InvalidOrder,
    "invalid_stp": InvalidOrder,
    "invalid_amend": InvalidOrder,
    "invalid_client_order_id": InvalidOrder,
    "open_order_limit": InvalidOrder,
    "market_post_only": InvalidOrder,
    # An unknown id, someone else's order, or one that is no longer open: ccxt's manual says a
    # cancel that meets a filled or cancelled order raises OrderNotFound (a kind of InvalidOrder).
    "unknown_order": OrderNotFound,
    "order_not_found": OrderNotFound,
    "order_not_open": OrderNotFound,
    "unknown_market": BadSymbol,
    "market_halted": MarketClosed,
    "market_cancel_only": MarketClosed,
    "market_delisted": MarketClosed,
    # Signing. A stale timestamp or a replayed signature is a nonce problem: ccxt retries
    # InvalidNonce (a NetworkError) with a fresh timestamp, which is the cure.
    "stale_timestamp": InvalidNonce,
    "replayed_request": InvalidNonce,
    "not_authenticated": AuthenticationError,
    "signature_missing": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "api_key_revoked": AuthenticationError,
    "invalid_timestamp": AuthenticationError,
    "invalid_signature": AuthenticationError,
    "missing_scope": PermissionDenied,
    "ip_not_allowed": PermissionDenied,
    "permission_denied": PermissionDenied,
    "account_frozen": AccountSuspended,
    # Load: come back later (ccxt's NetworkError family, which callers retry).
    "rate_limited": RateLimitExceeded,
    "overloaded": ExchangeNotAvailable,
    "entry_busy": ExchangeNotAvailable,
    "database_unavailable": ExchangeNotAvailable,
    "service_unavailable": ExchangeNotAvailable,
}

# Codes with a shape rather than a name: invalid_<field>, <field>_too_large, <field>_precision.
PREFIX = {"invalid_": BadRequest}
SUFFIX = {"_too_large": BadRequest, "_precision": InvalidOrder}

STATUS: dict[int, type[Exception]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: BadRequest,
    409: InvalidOrder,
    413: BadRequest,
    415: BadRequest,
    429: RateLimitExceeded,
}


def error_class(status: int, code: str | None) -> type[Exception] | None:
    """The ccxt class for a refusal with this HTTP status and venue error code; ``None`` for a
    success status. Any 5xx is ExchangeNotAvailable: the venue, not the request, is at fault."""
    if code:
        if code in EXACT:
            return EXACT[code]
        for prefix, cls in PREFIX.items():
            if code.startswith(prefix):
                return cls
        for suffix, cls in SUFFIX.items():
            if code.endswith(suffix):
                return cls
    if status < 400:
        return None
    if status >= 500:
        return ExchangeNotAvailable
    return STATUS.get(status, ExchangeError)
