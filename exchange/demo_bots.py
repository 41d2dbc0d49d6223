"""Demo liquidity: a market maker and a taker that trade through the real order path
(``order_place`` / ``order_cancel_all``, then the matcher), so the book, tape and chart move.

Demo mode only. The maker ("maker", from ``seed_demo``) keeps a ladder of quotes around a mid
price that drifts in a random walk; the taker ("taker-bot") sends small market orders, leaning
against the drift so prices stay near where they started. Quantities and prices are rounded to
the market's lot and tick, so every order passes the same checks a person's order does.
"""
import logging
import random
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.contrib.auth import get_user_model

from exchange.demo import DEMO_PASSWORD, LIQUIDITY
from exchange.errors import ExchangeError
from exchange.ledger.models import Balance
from exchange.ledger.services import deposit_credit
from exchange.markets.models import Asset, Market, MarketStatus
from exchange.trading.services import order_cancel_all, order_place

log = logging.getLogger("exchange.demo_bots")
TAKER = "taker-bot"
LEVELS = 6
REQUOTE_EVERY = 3  # steps between full re-quotes of the maker's ladder
TOP_UP = {"USD": ("200000", "1000000"), "BTC": ("5", "20"), "ETH": ("50", "200")}  # below, credit


def _round(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_DOWN) * step


@dataclass
class MarketBot:
    market: Market
    mid: Decimal
    step: Decimal
    size: Decimal
    anchor: Decimal
    steps: int = 0
    placed: list = field(default_factory=list)


class DemoBots:
    def __init__(self, *, symbols: list[str] | None = None, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        User = get_user_model()
        self.maker = User.objects.get(username="maker")
        self.taker = User.objects.filter(username=TAKER).first() or self._create_taker()
        self.bots: list[MarketBot] = []
        for market in Market.objects.select_related("base", "quote").order_by("symbol"):
            if symbols and market.symbol not in symbols:
                continue
            mid, step, size = (Decimal(x) for x in LIQUIDITY.get(market.symbol, ("0", "0", "0")))
            if market.last_price:
                mid = market.last_price
            if mid <= 0:
                continue
            step = max(step, market.tick_size)
            self.bots.append(MarketBot(market=market, mid=mid, step=step, size=max(size, market.min_quantity), anchor=mid))

    def _create_taker(self):
        from exchange.accounts.roles import TRADER
        from exchange.accounts.services import user_create

        return user_create(username=TAKER, email=f"{TAKER}@demo.invalid", password=DEMO_PASSWORD, role=TRADER)

    def _top_up(self, user) -> None:
        for symbol, (low, amount) in TOP_UP.items():
            asset = Asset.objects.filter(symbol=symbol).first()
            if asset is None:
                continue
            balance = Balance.objects.filter(account__user=user, asset=asset).first()
            if balance is None or balance.available < Decimal(low):
                deposit_credit(user=user, asset=asset, amount=amount, reference=f"demo-bots:{uuid.uuid4()}")

    def step(self) -> int:
        """One round over the markets; returns how many orders were sent."""
        sent = 0
        for bot in self.bots:
            bot.market.refresh_from_db(fields=["status", "last_price"])
            if bot.market.status != MarketStatus.TRADING:
                continue
            try:
                sent += self._step_market(bot)
            except ExchangeError as exc:
                log.info("%s: %s (%s)", bot.market.symbol, exc.message, exc.code)
        return sent

    def _step_market(self, bot: MarketBot) -> int:
        market = bot.market
        if bot.steps % 20 == 0:
            self._top_up(self.maker)
            self._top_up(self.taker)
        # Random walk of the mid, pulled back towards where it started.
        drift = (bot.anchor - bot.mid) / bot.anchor * Decimal("0.05")
        shock = Decimal(str(self.rng.gauss(0, 0.0004)))
        bot.mid = bot.mid * (1 + drift + shock)
        sent = 0
        if bot.steps % REQUOTE_EVERY == 0:
            order_cancel_all(user=self.maker, market=market.symbol)
            for level in range(1, LEVELS + 1):
                offset = bot.step * level
                qty = _round(bot.size * Decimal(str(self.rng.uniform(0.5, 2.5))), market.lot_size)
                for side, price in (("buy", bot.mid - offset), ("sell", bot.mid + offset)):
                    order_place(user=self.maker, market=market.symbol, side=side,
                                price=str(_round(price, market.tick_size)), quantity=str(max(qty, market.min_quantity)))
                    sent += 1
        if self.rng.random() < 0.6:
            # Buy when the walk is below its anchor, sell when above: a taker that keeps prices near.
            # An IOC limit a little through the quotes: it needs no last price, unlike a market order.
            side = "buy" if self.rng.random() < 0.5 + float(drift) * 5 else "sell"
            qty = _round(bot.size * Decimal(str(self.rng.uniform(0.1, 1.2))), market.lot_size)
            through = bot.step * 2 if side == "buy" else -bot.step * 2
            price = _round(bot.mid + through, market.tick_size)
            if qty >= market.min_quantity and qty * price >= market.min_notional:
                order_place(user=self.taker, market=market.symbol, side=side, price=str(price),
                            quantity=str(qty), time_in_force="ioc")
                sent += 1
        bot.steps += 1
        return sent
