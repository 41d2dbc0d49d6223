"""OpenAPI examples of every order the engine takes, as ``POST /orders`` bodies.

Kept apart from the views: they are documentation, and they are many. Each one is a body that
the API accepts as it stands (``tests/api/test_order_api.py`` places every one). None carries a
``client_order_id``: a second order with an open one's id returns that order whatever its other
terms, so the schema fuzzer, mutating an example, would see a wrong body "accepted".
"""
from drf_spectacular.utils import OpenApiExample

_ORDERS = {
    "Limit (good till cancelled)": (
        "Rests in the book until filled or cancelled.",
        {"market": "BTC-USD", "side": "buy", "type": "limit", "price": "30000", "quantity": "0.01",
         "time_in_force": "gtc"}),
    "Market, by base quantity": (
        "Sells (or buys) this quantity now at the best prices; a buy is bounded by the slippage cap.",
        {"market": "BTC-USD", "side": "sell", "type": "market", "quantity": "0.01"}),
    "Market buy, by quote amount": (
        "Spends this much of the quote asset (500 USD) now.",
        {"market": "BTC-USD", "side": "buy", "type": "market", "quote_amount": "500"}),
    "Stop-market": (
        "Becomes a market order when the last price reaches stop_price.",
        {"market": "BTC-USD", "side": "sell", "type": "stop_market", "stop_price": "29000", "quantity": "0.01"}),
    "Stop-limit": (
        "Becomes a limit order at price when the last price reaches stop_price.",
        {"market": "BTC-USD", "side": "buy", "type": "stop_limit", "stop_price": "31000", "price": "31050",
         "quantity": "0.01"}),
    "Post-only": (
        "Only adds liquidity: rejected instead of trading on arrival.",
        {"market": "BTC-USD", "side": "sell", "type": "limit", "price": "30500", "quantity": "0.01",
         "post_only": True}),
    "Immediate or cancel": (
        "Fills what it can now; the rest is cancelled.",
        {"market": "BTC-USD", "side": "buy", "type": "limit", "price": "30000", "quantity": "0.01",
         "time_in_force": "ioc"}),
    "Fill or kill": (
        "Fills completely now, or not at all.",
        {"market": "BTC-USD", "side": "buy", "type": "limit", "price": "30000", "quantity": "0.01",
         "time_in_force": "FOK"}),
    "Self-trade prevention": (
        "If it would trade with one of your own orders: cancel_newest (default), cancel_oldest, cancel_both or "
        "decrement.",
        {"market": "BTC-USD", "side": "buy", "type": "limit", "price": "30000", "quantity": "0.01",
         "stp": "cancel_oldest"}),
}

ORDER_BODIES = {name: body for name, (_, body) in _ORDERS.items()}

ORDER_EXAMPLES = [
    OpenApiExample(name, value=body, description=description, request_only=True)
    for name, (description, body) in _ORDERS.items()
]

AMEND_EXAMPLES = [
    OpenApiExample("Smaller quantity (keeps priority)", value={"quantity": "0.005"}, request_only=True),
    OpenApiExample("New price (loses priority)", value={"price": "29950"}, request_only=True),
    OpenApiExample("Both", value={"price": "29950", "quantity": "0.02"}, request_only=True),
]
