"""``Venue``: the exchange as a ccxt exchange class.

Bots (freqtrade, hummingbot, home-grown ones) talk to venues through ccxt's unified methods and
structures. This class speaks the venue's REST API (``/api/v1/``) underneath: it signs private
requests the venue's way, turns the venue's JSON into ccxt's unified structures, fills ccxt's
precision and limits from each market's rules, and raises ccxt's exception classes.

Money crosses into the venue only as exact decimal strings made by ccxt's own precision helpers
(``price_to_precision``, ``amount_to_precision``, ``cost_to_precision``) in ``TICK_SIZE`` mode,
so a price is rounded to a multiple of the market's tick, and an amount truncated to a multiple of
its lot, exactly as the venue checks them. The unified structures handed back follow ccxt's own
convention (numbers from ``safe_number``); the venue's strings stay untouched in ``info``.
"""
from __future__ import annotations

from typing import Any

from ccxt.base.decimal_to_precision import TICK_SIZE
from ccxt.base.errors import ArgumentsRequired, InvalidOrder

from exchange_ccxt.transport import PAGE_MAX, Transport

# The venue's order statuses in ccxt's words: a pending order is durable and about to rest, so a
# bot treats it as open.
ORDER_STATUS = {"pending": "open", "open": "open", "filled": "closed", "cancelled": "canceled", "rejected": "rejected"}
# The venue's order types as ccxt's (type, is a stop); a stop's trigger goes in ``triggerPrice``.
ORDER_TYPE = {"limit": "limit", "market": "market", "stop_limit": "limit", "stop_market": "market"}
TIMEFRAMES = {"1m": "1m", "5m": "5m", "15m": "15m", "1h": "1h", "4h": "4h", "1d": "1d"}
# Market statuses in which new orders are taken.
ACTIVE_STATUSES = ("trading", "post_only")


class Venue(Transport):
    """The exchange for ccxt: ``Venue({'apiKey': KEY, 'secret': SECRET, 'urls': {'api': URL}})``."""

    def describe(self) -> dict:
        return self.deep_extend(super().describe(), {
            "id": "venue",
            "name": "Exchange",
            "countries": [],
            "version": "v1",
            # 600 requests a minute per key is the venue's account limit: one every 100 ms keeps
            # a single driver inside it with ccxt's own throttle.
            "rateLimit": 100,
            "certified": False,
            "pro": False,
            "precisionMode": TICK_SIZE,
            "requiredCredentials": {"apiKey": True, "secret": True},
            "urls": {"api": "http://127.0.0.1:8000", "www": "http://127.0.0.1:8000", "doc": "http://127.0.0.1:8000/api/docs/"},
            "timeframes": TIMEFRAMES,
            "has": {
                "CORS": None, "spot": True, "margin": False, "swap": False, "future": False, "option": False,
                "fetchMarkets": True, "fetchCurrencies": False, "fetchTime": True,
                "fetchTicker": True, "fetchTickers": True, "fetchOrderBook": True, "fetchTrades": True,
                "fetchOHLCV": True, "fetchBalance": True, "fetchTradingFee": False, "fetchTradingFees": False,
                "createOrder": True, "createLimitOrder": True, "createMarketOrder": True,
                "createMarketBuyOrderWithCost": True, "createMarketOrderWithCost": False,
                "createMarketSellOrderWithCost": False, "createStopOrder": True, "createStopLimitOrder": True,
                "createStopMarketOrder": True, "createTriggerOrder": True, "createPostOnlyOrder": True,
                "editOrder": True, "cancelOrder": True, "cancelAllOrders": True,
                "fetchOrder": True, "fetchOpenOrders": True, "fetchClosedOrders": True, "fetchOrders": False,
                "fetchMyTrades": True, "fetchOrderTrades": False,
            },
            "options": {
                "adjustForTimeDifference": False,
                "timeDifference": 0,
                # Items per request when a list spans pages (the venue's maximum is 500).
                "pageSize": PAGE_MAX,
            },
        })

    # ------------------------------------------------------------------ public

    def fetch_time(self, params: dict | None = None) -> int:
        """The venue's clock in ms (``GET time``), for ``load_time_difference``."""
        return self.safe_integer(self._public("time", params), "server_time")

    def fetch_markets(self, params: dict | None = None) -> list[dict]:
        """Every market with ccxt's precision and limits taken from its rules: tick size and lot
        size are the precision (TICK_SIZE mode), min/max quantity and min notional the limits."""
        return [self.parse_market(market) for market in self._public("markets", params)]

    def parse_market(self, market: dict) -> dict:
        base_id, quote_id = market["base"], market["quote"]
        base, quote = self.safe_currency_code(base_id), self.safe_currency_code(quote_id)
        return self.safe_market_structure({
            "id": market["symbol"], "symbol": base + "/" + quote, "base": base, "quote": quote,
            "baseId": base_id, "quoteId": quote_id, "settle": None, "settleId": None,
            "type": "spot", "spot": True, "margin": False, "swap": False, "future": False, "option": False,
            "contract": False, "linear": None, "inverse": None, "contractSize": None,
            "expiry": None, "expiryDatetime": None, "strike": None, "optionType": None,
            "active": market.get("status") in ACTIVE_STATUSES,
            "taker": self.safe_number(market, "taker_fee"), "maker": self.safe_number(market, "maker_fee"),
            "precision": {"price": self.safe_number(market, "tick_size"), "amount": self.safe_number(market, "lot_size")},
            "limits": {
                "amount": {"min": self.safe_number(market, "min_quantity"), "max": self.safe_number(market, "max_quantity")},
                "price": {"min": self.safe_number(market, "tick_size"), "max": None},
                "cost": {"min": self.safe_number(market, "min_notional"), "max": None},
                "leverage": {"min": None, "max": None},
            },
            "created": None,
            "info": market,
        })

    def fetch_ticker(self, symbol: str, params: dict | None = None) -> dict:
        self.load_markets()
        market = self.market(symbol)
        ticker = self._public("markets/{symbol}/ticker", self.extend({"symbol": market["id"]}, params or {}))
        return self.parse_ticker(ticker, market)

    def fetch_tickers(self, symbols: list[str] | None = None, params: dict | None = None) -> dict:
        self.load_markets()
        symbols = self.market_symbols(symbols)
        tickers = [self.parse_ticker(t) for t in self._public("tickers", params)]
        return self.filter_by_array_tickers(tickers, "symbol", symbols)

    def parse_ticker(self, ticker: dict, market: dict | None = None) -> dict:
        market = self.safe_market(ticker.get("market"), market)
        timestamp = self.parse8601(ticker.get("ts"))
        return self.safe_ticker({
            "symbol": market["symbol"], "timestamp": timestamp, "datetime": self.iso8601(timestamp),
            "high": self.safe_string(ticker, "high"), "low": self.safe_string(ticker, "low"),
            "bid": self.safe_string(ticker, "best_bid"), "bidVolume": None,
            "ask": self.safe_string(ticker, "best_ask"), "askVolume": None,
            "vwap": None, "open": self.safe_string(ticker, "open"),
            "close": self.safe_string(ticker, "last"), "last": self.safe_string(ticker, "last"),
            "previousClose": None, "change": self.safe_string(ticker, "change"),
            "percentage": self.safe_string(ticker, "change_pct"), "average": None,
            "baseVolume": self.safe_string(ticker, "volume"), "quoteVolume": self.safe_string(ticker, "quote_volume"),
            "info": ticker,
        }, market)

    def fetch_order_book(self, symbol: str, limit: int | None = None, params: dict | None = None) -> dict:
        """The book at the venue's ``sequence`` (ccxt's ``nonce``), best first."""
        self.load_markets()
        market = self.market(symbol)
        request = {"symbol": market["id"], "levels": limit}
        book = self._public("markets/{symbol}/depth", self.extend(request, params or {}))
        result = self.parse_order_book(book, market["symbol"])
        result["nonce"] = self.safe_integer(book, "sequence")
        return result

    def fetch_trades(self, symbol: str, since: int | None = None, limit: int | None = None,
                     params: dict | None = None) -> list[dict]:
        self.load_markets()
        market = self.market(symbol)
        request = {"symbol": market["id"], "limit": limit, "since": since}
        trades = self._public("markets/{symbol}/trades", self.extend(request, params or {}))
        return self.parse_trades(trades, market, since, limit)

    def parse_trade(self, trade: dict, market: dict | None = None) -> dict:
        """A public trade (``trade_id``, taker's ``side``) or one of the caller's fills (``id``,
        ``order_id``, ``fee``, ``fee_asset``, ``liquidity``)."""
        market = self.safe_market(trade.get("market"), market)
        timestamp = self.parse8601(self.safe_string_2(trade, "ts", "created_at"))
        fee = None
        if trade.get("fee") is not None:
            fee_asset = trade.get("fee_asset") or (market["base"] if trade.get("side") == "buy" else market["quote"])
            fee = {"cost": self.safe_string(trade, "fee"), "currency": self.safe_currency_code(fee_asset)}
        return self.safe_trade({
            "id": self.safe_string_2(trade, "id", "trade_id"), "order": self.safe_string(trade, "order_id"),
            "timestamp": timestamp, "datetime": self.iso8601(timestamp), "symbol": market["symbol"],
            "type": None, "side": self.safe_string(trade, "side"),
            "takerOrMaker": self.safe_string(trade, "liquidity"),
            "price": self.safe_string(trade, "price"), "amount": self.safe_string(trade, "quantity"),
            "cost": None, "fee": fee, "info": trade,
        }, market)

    def fetch_ohlcv(self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None,
                    params: dict | None = None) -> list[list]:
        self.load_markets()
        market = self.market(symbol)
        request = {"symbol": market["id"], "interval": self.safe_string(self.timeframes, timeframe, timeframe),
                   "since": since, "limit": limit}
        candles = self._public("markets/{symbol}/candles", self.extend(request, params or {}))
        return self.parse_ohlcvs(candles, market, timeframe, since, limit)

    def parse_ohlcv(self, ohlcv: dict, market: dict | None = None) -> list:
        return [self.parse8601(ohlcv.get("open_time")), self.safe_number(ohlcv, "open"), self.safe_number(ohlcv, "high"),
                self.safe_number(ohlcv, "low"), self.safe_number(ohlcv, "close"), self.safe_number(ohlcv, "volume")]

    # ------------------------------------------------------------------ private: account

    def fetch_balance(self, params: dict | None = None) -> dict:
        """Available is ccxt's ``free``, held (by open orders and pending withdrawals) ``used``."""
        balances = self._private("balances", "GET", params)
        result: dict[str, Any] = {"info": balances}
        for balance in balances:
            account = self.account()
            account["free"] = self.safe_string(balance, "available")
            account["used"] = self.safe_string(balance, "held")
            account["total"] = self.safe_string(balance, "total")
            result[self.safe_currency_code(balance.get("asset"))] = account
        return self.safe_balance(result)

    # ------------------------------------------------------------------ private: orders

    def create_order(self, symbol: str, type: str, side: str, amount: float | None, price: float | None = None,
                     params: dict | None = None) -> dict:
        """Place a limit or market order; with ``triggerPrice`` (or ``stopPrice``) a stop-limit or
        stop-market. ``params``: ``timeInForce`` (GTC, IOC, FOK, or PO for post-only),
        ``postOnly``, ``clientOrderId``, ``stp`` (cancel_newest, cancel_oldest, cancel_both,
        decrement), ``cost`` (a market buy by quote amount). Anything else is sent as is."""
        self.load_markets()
        market = self.market(symbol)
        params = dict(params or {})
        trigger = self.safe_string_n(params, ["triggerPrice", "stopPrice", "stop_price"])
        cost = self.safe_string(params, "cost")
        client_order_id = self.safe_string_2(params, "clientOrderId", "client_order_id")
        type = type.lower()
        if type in ("stop_limit", "stop_market"):
            venue_type = type
            type = "limit" if type == "stop_limit" else "market"
            if trigger is None:
                raise InvalidOrder(self.id + " createOrder() a " + venue_type + " order needs params['triggerPrice']")
        elif type in ("limit", "market"):
            venue_type = ("stop_" + type) if trigger is not None else type
        else:
            raise InvalidOrder(self.id + " createOrder() type must be limit or market (with triggerPrice for a stop)")
        is_market = type == "market"
        post_only, params = self.handle_post_only(is_market, False, params)
        params = self.omit(params, ["triggerPrice", "stopPrice", "stop_price", "cost", "clientOrderId", "client_order_id"])
        request: dict[str, Any] = {"market": market["id"], "side": side.lower(), "type": venue_type}
        if is_market and side.lower() == "buy" and cost is not None:
            request["quote_amount"] = self.cost_to_precision(symbol, cost)
        else:
            if amount is None:
                raise ArgumentsRequired(self.id + " createOrder() needs an amount (or params['cost'] for a market buy)")
            request["quantity"] = self.amount_to_precision(symbol, amount)
        if not is_market:
            if price is None:
                raise ArgumentsRequired(self.id + " createOrder() a limit order needs a price")
            request["price"] = self.price_to_precision(symbol, price)
        if trigger is not None:
            request["stop_price"] = self.price_to_precision(symbol, trigger)
        time_in_force = self.safe_string_lower(params, "timeInForce")
        params = self.omit(params, ["timeInForce"])
        if time_in_force is not None:
            request["time_in_force"] = time_in_force
        elif is_market:
            request["time_in_force"] = "ioc"
        if post_only:
            request["post_only"] = True
        if client_order_id is not None:
            request["client_order_id"] = client_order_id
        return self.parse_order(self._private("orders", "POST", self.extend(request, params)), market)

    def create_market_buy_order_with_cost(self, symbol: str, cost: float, params: dict | None = None) -> dict:
        """Buy for ``cost`` units of the quote ("spend 500 USD"): the venue's quote-amount market buy."""
        return self.create_order(symbol, "market", "buy", None, None, self.extend(params or {}, {"cost": cost}))

    def edit_order(self, id: str, symbol: str, type: str | None = None, side: str | None = None,
                   amount: float | None = None, price: float | None = None, params: dict | None = None) -> dict:
        """Amend price and/or quantity in place (``PATCH orders/{id}``). A smaller quantity keeps
        time priority; a new price or a larger quantity loses it (``info['priority_kept']``).
        The matcher applies the amend just after: ``fetch_order`` then shows the new values."""
        self.load_markets()
        market = self.market(symbol) if symbol is not None else None
        if market is None:
            raise ArgumentsRequired(self.id + " editOrder() needs the symbol (for its precision)")
        request: dict[str, Any] = {"id": id}
        if price is not None:
            request["price"] = self.price_to_precision(symbol, price)
        if amount is not None:
            request["quantity"] = self.amount_to_precision(symbol, amount)
        return self.parse_order(self._private("orders/{id}", "PATCH", self.extend(request, params or {})), market)

    def _order_path(self, id: str | None, params: dict | None) -> tuple[str, dict]:
        """``orders/{id}``, or ``orders/by-client-id/{client_order_id}`` when params name one."""
        params = dict(params or {})
        client_order_id = self.safe_string_2(params, "clientOrderId", "client_order_id")
        params = self.omit(params, ["clientOrderId", "client_order_id"])
        if client_order_id is not None:
            return "orders/by-client-id/{client_order_id}", self.extend({"client_order_id": client_order_id}, params)
        if id is None or str(id) == "":
            raise ArgumentsRequired(self.id + " needs an order id or params['clientOrderId']")
        return "orders/{id}", self.extend({"id": id}, params)

    def fetch_order(self, id: str, symbol: str | None = None, params: dict | None = None) -> dict:
        self.load_markets()
        path, request = self._order_path(id, params)
        return self.parse_order(self._private(path, "GET", request))

    def cancel_order(self, id: str, symbol: str | None = None, params: dict | None = None) -> dict:
        """Ask to cancel. The venue answers 202 with the order as it stands (``info
        ['cancel_requested']`` true); the matcher applies the cancel in sequence just after."""
        self.load_markets()
        path, request = self._order_path(id, params)
        return self.parse_order(self._private(path, "DELETE", request))

    def _market_filter(self, symbol: str | None) -> tuple[dict[str, Any], dict | None]:
        """The ``market`` query of a list or cancel-all, and the ccxt market, for ``symbol`` or all."""
        if symbol is None:
            return {}, None
        market = self.market(symbol)
        return {"market": market["id"]}, market

    def cancel_all_orders(self, symbol: str | None = None, params: dict | None = None) -> list[dict]:
        self.load_markets()
        request, market = self._market_filter(symbol)
        return self.parse_orders(self._private("orders", "DELETE", self.extend(request, params or {})), market)

    def _fetch_orders(self, status: str, symbol: str | None, since: int | None, limit: int | None,
                      params: dict | None) -> list[dict]:
        self.load_markets()
        request, market = self._market_filter(symbol)
        request["status"] = status
        orders = self._pages("orders", self.extend(request, params or {}), since, limit)
        return self.parse_orders(orders, market, since, limit)

    def fetch_open_orders(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                          params: dict | None = None) -> list[dict]:
        """Open orders, pending ones (durable, not yet in the book) and waiting stops included."""
        return self._fetch_orders("open", symbol, since, limit, params)

    def fetch_closed_orders(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                            params: dict | None = None) -> list[dict]:
        """Finished orders: filled, cancelled and rejected (ccxt's closed, canceled, rejected)."""
        return self._fetch_orders("closed", symbol, since, limit, params)

    def fetch_my_trades(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                        params: dict | None = None) -> list[dict]:
        """The caller's fills, with fee, fee currency and maker/taker."""
        self.load_markets()
        request, market = self._market_filter(symbol)
        fills = self._pages("fills", self.extend(request, params or {}), since, limit)
        return self.parse_trades(fills, market, since, limit)

    def parse_order(self, order: dict, market: dict | None = None) -> dict:
        market = self.safe_market(order.get("market"), market)
        venue_type = self.safe_string(order, "type")
        side = self.safe_string(order, "side")
        timestamp = self.parse8601(order.get("created_at"))
        fees_paid = self.safe_string(order, "fees_paid")
        # Fees are charged in the asset received: base for a buy, quote for a sell.
        fee_currency = market["base"] if side == "buy" else market["quote"]
        time_in_force = self.safe_string_upper(order, "time_in_force")
        if order.get("post_only"):
            time_in_force = "PO"
        return self.safe_order({
            "id": self.safe_string(order, "id"), "clientOrderId": self.safe_string(order, "client_order_id"),
            "timestamp": timestamp, "datetime": self.iso8601(timestamp),
            "lastTradeTimestamp": None, "lastUpdateTimestamp": self.parse8601(order.get("updated_at")),
            "status": ORDER_STATUS.get(order.get("status"), order.get("status")),
            "symbol": market["symbol"], "type": ORDER_TYPE.get(venue_type, venue_type),
            "timeInForce": time_in_force, "postOnly": bool(order.get("post_only")), "reduceOnly": None,
            "side": side, "price": self.safe_string(order, "price"),
            "triggerPrice": self.safe_string(order, "stop_price"),
            "amount": self.safe_string(order, "quantity"), "filled": self.safe_string(order, "filled_quantity"),
            "remaining": None, "cost": self.safe_string(order, "filled_notional"), "average": None,
            "trades": None, "fee": {"cost": fees_paid, "currency": fee_currency} if fees_paid is not None else None,
            "info": order,
        }, market)
