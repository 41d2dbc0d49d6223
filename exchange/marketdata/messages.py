"""The WebSocket messages built from what the matcher published (plain JSON: decimals as strings)."""
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection

from exchange.marketdata.checksum import decimal_text
from exchange.marketdata.models import INTERVALS
from exchange.marketdata.order_events import order_event


def _text(value):
    return None if value is None else decimal_text(value)


def ticker_message(ticker: dict) -> dict:
    out: dict[str, object] = {"type": "ticker"}
    for name, value in ticker.items():
        if hasattr(value, "isoformat"):
            out[name] = value.isoformat()
        elif isinstance(value, str | int | type(None)):
            out[name] = value
        else:
            out[name] = decimal_text(value)
    return out


def candle_message(symbol: str, interval: str, open_time: datetime, row: tuple, closed: bool) -> dict:
    """A message of the ``candles:{interval}`` channel; ``row`` as ``selectors.candle_rows`` gives it.
    ``sequence`` is the market sequence of the last trade the candle counts."""
    open_, high, low, close, volume, quote_volume, trades, last_sequence = row
    return {"type": "candle", "market": symbol, "channel": f"candles:{interval}", "interval": interval,
            "open_time": open_time.isoformat(), "close_time": (open_time + timedelta(seconds=INTERVALS[interval])).isoformat(),
            "open": decimal_text(open_), "high": decimal_text(high), "low": decimal_text(low),
            "close": decimal_text(close), "volume": decimal_text(volume), "quote_volume": decimal_text(quote_volume),
            "trades": trades, "sequence": last_sequence, "closed": closed}


def _order_rows(order_ids: list[int]) -> dict[int, tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, client_order_id, price, quantity, quote_amount FROM trading_order WHERE id = ANY(%s)",
                       [order_ids])
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _balances(user_ids: list[int], asset_ids: list[int], wanted: set[tuple[int, int]]) -> dict[int, list[dict]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT la.user_id, a.symbol, b.available, b.held, b.asset_id FROM ledger_balance b
               JOIN ledger_ledgeraccount la ON la.id = b.account_id JOIN markets_asset a ON a.id = b.asset_id
               WHERE la.user_id = ANY(%s) AND b.asset_id = ANY(%s) ORDER BY la.user_id, a.symbol""",
            [user_ids, asset_ids],
        )
        out: dict[int, list[dict]] = defaultdict(list)
        for user_id, asset, available, held, asset_id in cursor.fetchall():
            if (user_id, asset_id) not in wanted:
                continue
            out[user_id].append({"asset": asset, "available": decimal_text(available), "held": decimal_text(held),
                                 "total": decimal_text(available + held)})
        return out


def user_events(items: list[dict]) -> dict[int, list[dict]]:
    """Per user, the frames of these batches, in order: ``order`` (each order's state after its
    batch), ``fill`` (one per side of each trade), then one ``balance`` (the touched assets, read
    now, after the commits). Two queries in all. The per-user ``sequence`` is set by the caller."""
    events: dict[int, list[dict]] = defaultdict(list)
    orders = [(item, o) for item in items for o in item["orders"] if order_event(o["status"], o["filled_quantity"])]
    statics = _order_rows([o["order_id"] for _, o in orders]) if orders else {}
    by_item: dict[int, list] = defaultdict(list)
    for item, o in orders:
        by_item[id(item)].append(o)
    balance_users: dict[tuple[int, int], set[int]] = defaultdict(set)
    for item in items:
        symbol = item["symbol"]
        for o in by_item[id(item)]:
            client_order_id, price, quantity, quote_amount = statics.get(o["order_id"], (None, None, None, None))
            events[o["user_id"]].append({
                "type": "order", "market": symbol, "market_sequence": item["sequence"],
                "event": order_event(o["status"], o["filled_quantity"]),
                "order": {
                    "id": o["order_id"], "client_order_id": client_order_id, "market": symbol, "side": o["side"],
                    "type": o["type"], "price": _text(price), "quantity": _text(quantity),
                    "quote_amount": _text(quote_amount), "status": o["status"],
                    "filled_quantity": _text(o["filled_quantity"]), "remaining": _text(o["remaining"]),
                    "filled_notional": _text(o["filled_notional"]), "fees_paid": _text(o["fees_paid"]),
                    "cancel_reason": o["cancel_reason"],
                },
            })
        for seq, price, quantity, buy_id, sell_id, buyer, seller, aggressor, buyer_fee, seller_fee, ts in item["fills"]:
            for user_id, order_id, side, fee, fee_asset_index in ((buyer, buy_id, "buy", buyer_fee, 0),
                                                                  (seller, sell_id, "sell", seller_fee, 1)):
                events[user_id].append({
                    "type": "fill", "market": symbol, "market_sequence": seq,
                    "fill": {"trade_id": f"{symbol}:{seq}", "order_id": order_id, "side": side, "price": _text(price),
                             "quantity": _text(quantity), "fee": _text(fee),
                             "fee_asset": symbol.split("-")[fee_asset_index],
                             "liquidity": "taker" if aggressor == side else "maker", "ts": ts.isoformat()},
                })
        for user_id in item["balance_users"]:
            balance_users[item["assets"]].add(user_id)
    if balance_users:
        users = sorted(set().union(*balance_users.values()))
        assets = sorted({asset for pair in balance_users for asset in pair})
        wanted = {(user_id, asset) for pair, ids in balance_users.items() for user_id in ids for asset in pair}
        for user_id, balances in _balances(users, assets, wanted).items():
            events[user_id].append({"type": "balance", "balances": balances})
    return dict(events)
