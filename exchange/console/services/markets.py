"""Console writes on assets and markets: listing, rules, status changes and cancel-alls.

Market status changes and cancel-alls go through the matcher's command stream
(``exchange.trading.services.market_command``): they take effect at a definite sequence
number, after every command queued before them, once the market's matcher applies them.
"""
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from exchange.amounts import parse_decimal
from exchange.audit.services import audit_record
from exchange.console.services.guards import check_admin, check_reason
from exchange.errors import ExchangeError
from exchange.markets import services as markets
from exchange.markets.models import Asset, Market, MarketStatus
from exchange.trading import services as trading
from exchange.trading.models import OPEN_STATUSES, CommandKind, Order

RULE_FIELDS = ("tick_size", "lot_size", "min_notional", "min_quantity", "max_quantity", "price_band_pct", "maker_fee",
               "taker_fee")
# Resting orders are integers of ticks and lots in the matcher's book: these two never change
# once a market has had an order (list a new market instead).
FIXED_ONCE_TRADED = ("tick_size", "lot_size")
NULLABLE_RULES = ("max_quantity", "price_band_pct")

def _rules(market: Market) -> dict:
    return {f: getattr(market, f) for f in (*RULE_FIELDS, "status")}


def _locked_market(symbol: str) -> Market:
    market = Market.objects.select_for_update(of=("self",)).select_related("base", "quote").filter(
        symbol=str(symbol).upper()).first()
    if market is None:
        raise ExchangeError("unknown_market", f"no market {symbol!r}", status=404)
    return market


@transaction.atomic
def asset_list(*, actor: User, ip: str | None, symbol: str, name: str, decimals: int, reason: str) -> Asset:
    """List a new asset (a coin or currency) with its number of decimals."""
    check_admin(actor)
    why = check_reason(reason)
    symbol = (symbol or "").strip().upper()
    if Asset.objects.filter(symbol=symbol).exists():
        raise ExchangeError("asset_exists", f"asset {symbol} is already listed", status=409)
    asset = Asset(symbol=symbol, name=(name or symbol).strip()[:64], decimals=decimals)
    try:
        asset.full_clean()
    except ValidationError as exc:
        raise ExchangeError("invalid_asset", "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    asset.save()
    audit_record(actor=actor, ip=ip, action="asset.list", object_type="markets.asset", object_id=asset.symbol,
                 after={"symbol": asset.symbol, "name": asset.name, "decimals": asset.decimals}, reason=why)
    return asset


@transaction.atomic
def market_list(*, actor: User, ip: str | None, base: str, quote: str, reason: str, **rules: object) -> Market:
    """List a new market BASE-QUOTE with its rules. It opens in status ``trading``; its
    matcher picks it up when started for it (``run_matcher`` without ``--markets`` reads the
    market list when it starts)."""
    check_admin(actor)
    why = check_reason(reason)
    assets = {a.symbol: a for a in Asset.objects.filter(symbol__in=[str(base).upper(), str(quote).upper()])}
    if str(base).upper() not in assets or str(quote).upper() not in assets:
        raise ExchangeError("unknown_asset", "list both assets first")
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise ExchangeError("invalid_rules", f"unknown rules: {', '.join(sorted(unknown))}")
    given = {k: v for k, v in rules.items() if v not in (None, "")}
    if Market.objects.filter(symbol=f"{str(base).upper()}-{str(quote).upper()}").exists():
        raise ExchangeError("market_exists", "that market is already listed", status=409)
    market = markets.market_create(base=assets[str(base).upper()], quote=assets[str(quote).upper()], **given)
    audit_record(actor=actor, ip=ip, action="market.list", object_type="markets.market", object_id=market.symbol,
                 after=_rules(market), reason=why)
    return market


@transaction.atomic
def market_rules_update(*, actor: User, ip: str | None, market: str, reason: str, **changes: object) -> Market:
    """Change a market's rules. They apply to orders entered afterwards: every order is checked
    against the rules at entry, and carries the maker/taker fees of its entry in its place
    command. Resting orders keep their price, quantity and fees, even where a new rule (a
    larger minimum, a narrower band) would refuse them today. Tick and lot size can change only
    while the market has never had an order. An empty value clears max quantity and band."""
    check_admin(actor)
    why = check_reason(reason)
    row = _locked_market(market)
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ExchangeError("invalid_rules", f"unknown rules: {', '.join(sorted(unknown))}")
    before = _rules(row)
    changed = []
    for field, raw in changes.items():
        if raw is None or raw == "":
            if field not in NULLABLE_RULES:
                continue
            value = None
        else:
            value = parse_decimal(raw, field=field)
        if value != getattr(row, field):
            setattr(row, field, value)
            changed.append(field)
    if not changed:
        raise ExchangeError("no_change", "nothing to change")
    if set(changed) & set(FIXED_ONCE_TRADED):
        if Order.objects.filter(market=row).exists():
            raise ExchangeError("rules_fixed", "tick and lot size cannot change once a market has had orders; "
                                "list a new market instead", status=409)
        markets._check_step_fits(row.tick_size, row.quote, "tick_size")
        markets._check_step_fits(row.lot_size, row.base, "lot_size")
        markets._check_step_fits(row.tick_size * row.lot_size, row.quote, "tick_size")
    try:
        row.full_clean(exclude=["symbol", "base", "quote", "status", "last_price"])
    except ValidationError as exc:
        raise ExchangeError("invalid_rules", "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    if row.max_quantity is not None and row.max_quantity < row.min_quantity:
        raise ExchangeError("invalid_rules", "max quantity is below min quantity")
    # Only the changed columns: the matcher writes status and last price to the same row.
    row.save(update_fields=[*changed, "updated_at"])
    audit_record(actor=actor, ip=ip, action="market.rules_update", object_type="markets.market", object_id=row.symbol,
                 before={k: before[k] for k in changed}, after={k: getattr(row, k) for k in changed}, reason=why)
    return row


@transaction.atomic
def market_status_change(*, actor: User, ip: str | None, market: str, status: str, reason: str) -> list:
    """Queue a status change (trading, halted, cancel-only, post-only, delisted) into the
    market's stream; it takes effect at its sequence number. Delisting also cancels every
    resting order, right after the status change in the same stream. Returns the commands."""
    check_admin(actor)
    why = check_reason(reason)
    if status not in MarketStatus.values:
        raise ExchangeError("invalid_status", f"status must be one of {', '.join(MarketStatus.values)}")
    row = _locked_market(market)
    commands = [trading.market_command(market=row.symbol, kind=CommandKind.SET_STATUS, status=status, reason=why)]
    if status == MarketStatus.DELISTED:
        commands.append(trading.market_command(market=row.symbol, kind=CommandKind.CANCEL_ALL, reason=why))
    audit_record(actor=actor, ip=ip, action="market.status_change", object_type="markets.market", object_id=row.symbol,
                 before={"status": row.status},
                 after={"status": status, "commands": [c.pk for c in commands]}, reason=why)
    return commands


@transaction.atomic
def market_orders_cancel_all(*, actor: User, ip: str | None, market: str, reason: str):
    """Queue a cancel of every order of the market into its stream (holds are released as the
    matcher applies it). The market's status does not change: halt it first to stop new ones."""
    check_admin(actor)
    why = check_reason(reason)
    row = _locked_market(market)
    open_orders = Order.objects.filter(market=row, status__in=OPEN_STATUSES).count()
    command = trading.market_command(market=row.symbol, kind=CommandKind.CANCEL_ALL, reason=why)
    audit_record(actor=actor, ip=ip, action="market.cancel_all", object_type="markets.market", object_id=row.symbol,
                 before={"open_orders": open_orders}, after={"command": command.pk}, reason=why)
    return command
