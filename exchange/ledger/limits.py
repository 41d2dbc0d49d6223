"""KYC tiers: how much a user may withdraw and deposit, by their verification level.

Each tier has three limits, in the quote currency ``EXCHANGE_KYC_QUOTE`` (USD by default):
``withdraw_request`` (one withdrawal), ``withdraw_daily`` (withdrawals not rejected in the last
24 hours, a rolling window so that nothing resets at midnight) and ``deposit_daily`` (deposits
credited in the last 24 hours). Tier 0 (not verified) may not withdraw at all.

An amount of an asset is valued at the higher of the last trade of ASSET-QUOTE and the configured
reference price (``EXCHANGE_REFERENCE_PRICES``): a trade at a silly low price on a thin market
must not widen anyone's limit. An asset with neither price cannot be valued, so it is refused
(``kyc_no_price``) rather than let through unmeasured.

The checks run inside the caller's transaction after locking the user's ledger account row, so
two concurrent requests of one user are counted one after the other and cannot both pass a
daily limit that only one of them fits. Money is Decimal throughout.
"""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Sum
from django.utils import timezone

from exchange.errors import ExchangeError
from exchange.ledger.models import WITHDRAWAL_RELEASED, AccountKind, Bucket, EntryKind, LedgerAccount, Posting, Withdrawal
from exchange.markets.models import Asset, Market

LEVELS = (0, 1, 2, 3)
FIELDS = ("withdraw_request", "withdraw_daily", "deposit_daily")
WINDOW = timedelta(hours=24)

# The defaults, in the quote currency; EXCHANGE_KYC_LIMITS overrides any of them.
DEFAULT_LIMITS: dict[int, dict[str, str]] = {
    0: {"withdraw_request": "0", "withdraw_daily": "0", "deposit_daily": "1000"},
    1: {"withdraw_request": "1000", "withdraw_daily": "2000", "deposit_daily": "10000"},
    2: {"withdraw_request": "50000", "withdraw_daily": "100000", "deposit_daily": "500000"},
    3: {"withdraw_request": "1000000", "withdraw_daily": "5000000", "deposit_daily": "50000000"},
}


@dataclass(frozen=True)
class TierLimits:
    level: int
    withdraw_request: Decimal
    withdraw_daily: Decimal
    deposit_daily: Decimal

    @property
    def may_withdraw(self) -> bool:
        return self.withdraw_request > 0 and self.withdraw_daily > 0


def quote_symbol() -> str:
    return str(settings.EXCHANGE_KYC_QUOTE).upper()


def tier_limits(level: int) -> TierLimits:
    """The limits of ``level``: the defaults above, overridden by ``EXCHANGE_KYC_LIMITS``."""
    if level not in LEVELS:
        raise ExchangeError("invalid_kyc_level", "KYC level is 0, 1, 2 or 3")
    overrides = settings.EXCHANGE_KYC_LIMITS or {}
    if not isinstance(overrides, dict):
        raise ImproperlyConfigured("EXCHANGE_KYC_LIMITS must be a JSON object of tiers")
    values = dict(DEFAULT_LIMITS[level])
    tier = overrides.get(str(level), overrides.get(level, {}))  # type: ignore[call-overload]
    if not isinstance(tier, dict) or set(tier) - set(FIELDS):
        raise ImproperlyConfigured(f"EXCHANGE_KYC_LIMITS[{level}] may only set {', '.join(FIELDS)}")
    values.update({k: str(v) for k, v in tier.items()})
    parsed = {}
    for field, raw in values.items():
        try:
            parsed[field] = Decimal(raw)
        except InvalidOperation:
            raise ImproperlyConfigured(f"EXCHANGE_KYC_LIMITS[{level}][{field}] is not a number: {raw!r}") from None
        if not parsed[field].is_finite() or parsed[field] < 0:
            raise ImproperlyConfigured(f"EXCHANGE_KYC_LIMITS[{level}][{field}] must be 0 or more")
    return TierLimits(level=level, **parsed)


def kyc_level(user: User) -> int:
    """The user's verification level (0 without a profile)."""
    from exchange.accounts.models import Profile

    level = Profile.objects.filter(user=user).values_list("kyc_level", flat=True).first()
    return int(level or 0)


def asset_price(asset: Asset) -> Decimal | None:
    """The price of one unit of ``asset`` in the quote currency, or None when there is none."""
    if asset.symbol == quote_symbol():
        return Decimal(1)
    candidates = []
    last = Market.objects.filter(base=asset, quote__symbol=quote_symbol()).values_list("last_price", flat=True).first()
    if last is not None and last > 0:
        candidates.append(last)
    reference = (settings.EXCHANGE_REFERENCE_PRICES or {}).get(asset.symbol)
    if reference not in (None, ""):
        try:
            value = Decimal(str(reference))
        except InvalidOperation:
            raise ImproperlyConfigured(f"EXCHANGE_REFERENCE_PRICES[{asset.symbol}] is not a number") from None
        if value > 0:
            candidates.append(value)
    return max(candidates) if candidates else None


def asset_value(asset: Asset, amount: Decimal) -> Decimal:
    """``amount`` of ``asset`` in the quote currency; refused when the asset has no price."""
    price = asset_price(asset)
    if price is None:
        raise ExchangeError("kyc_no_price", f"{asset.symbol} has no {quote_symbol()} price (no trade, no reference "
                            "price), so it cannot be checked against KYC limits", status=403)
    return amount * price


def account_lock(user: User) -> LedgerAccount:
    """Lock the user's ledger account row: the limit checks of one user run one at a time."""
    account, _ = LedgerAccount.objects.get_or_create(user=user, defaults={"kind": AccountKind.USER})
    return LedgerAccount.objects.select_for_update().get(pk=account.pk)


def _value_or_zero(asset: Asset, amount: Decimal) -> Decimal:
    price = asset_price(asset)
    return amount * price if price is not None else Decimal(0)


def withdrawn_last_24h(user: User) -> Decimal:
    """The quote value of the user's withdrawals of the last 24 hours that were not rejected,
    cancelled or failed, each at its value when requested (older rows without one: at today's price)."""
    since = timezone.now() - WINDOW
    rows = Withdrawal.objects.filter(user=user, created_at__gte=since).exclude(status__in=WITHDRAWAL_RELEASED)
    total = rows.filter(quote_value__isnull=False).aggregate(s=Sum("quote_value"))["s"] or Decimal(0)
    for w in rows.filter(quote_value__isnull=True).select_related("asset"):
        total += _value_or_zero(w.asset, w.amount)
    return total


def deposited_last_24h(user: User) -> Decimal:
    """The quote value, at today's prices, of every deposit credited to the user in 24 hours."""
    since = timezone.now() - WINDOW
    sums = (Posting.objects.filter(account__user=user, bucket=Bucket.AVAILABLE, entry__kind=EntryKind.DEPOSIT,
                                   entry__created_at__gte=since, amount__gt=0)
            .values("asset").annotate(s=Sum("amount")))
    assets = Asset.objects.in_bulk([row["asset"] for row in sums])
    return sum((_value_or_zero(assets[row["asset"]], row["s"]) for row in sums), Decimal(0))


def withdrawal_limit_check(*, user: User, asset: Asset, amount: Decimal) -> Decimal:
    """Refuse a withdrawal the user's tier does not allow; return its quote value.

    Call inside the withdrawal's transaction: it locks the user's ledger account row before
    counting the last 24 hours, so the row it then writes is seen by the next request."""
    limits = tier_limits(kyc_level(user))
    if not limits.may_withdraw:
        raise ExchangeError("kyc_withdrawals_not_allowed",
                            f"KYC level {limits.level} may not withdraw: complete verification first", status=403)
    value = asset_value(asset, amount)
    q = quote_symbol()
    if value > limits.withdraw_request:
        raise ExchangeError("kyc_limit_exceeded", f"{amount.normalize():f} {asset.symbol} is worth {value.normalize():f} {q}; "
                            f"KYC level {limits.level} allows {limits.withdraw_request.normalize():f} {q} "
                            "per withdrawal", status=403)
    account_lock(user)
    used = withdrawn_last_24h(user)
    if used + value > limits.withdraw_daily:
        left = max(limits.withdraw_daily - used, Decimal(0))
        raise ExchangeError("kyc_limit_exceeded", f"KYC level {limits.level} allows {limits.withdraw_daily.normalize():f} {q} "
                            f"of withdrawals in 24 hours; {left.normalize():f} {q} is left", status=403)
    return value


def deposit_limit_check(*, user: User, asset: Asset, amount: Decimal) -> Decimal:
    """Refuse a credit above what the user's tier may receive in 24 hours; return its quote
    value. Call inside the crediting transaction (it locks the user's ledger account row)."""
    limits = tier_limits(kyc_level(user))
    value = asset_value(asset, amount)
    account_lock(user)
    used = deposited_last_24h(user)
    if used + value > limits.deposit_daily:
        q = quote_symbol()
        left = max(limits.deposit_daily - used, Decimal(0))
        raise ExchangeError("kyc_limit_exceeded", f"KYC level {limits.level} may receive {limits.deposit_daily.normalize():f} "
                            f"{q} of deposits in 24 hours; {left.normalize():f} {q} is left", status=403)
    return value


def limits_summary(*, user: User) -> dict:
    """The user's tier, limits and what is left of them, for their wallet page."""
    limits = tier_limits(kyc_level(user))
    withdrawn, deposited = withdrawn_last_24h(user), deposited_last_24h(user)
    return {
        "level": limits.level, "quote": quote_symbol(), "may_withdraw": limits.may_withdraw,
        "withdraw_request": limits.withdraw_request, "withdraw_daily": limits.withdraw_daily,
        "withdrawn": withdrawn,
        "withdraw_left": max(min(limits.withdraw_daily - withdrawn, limits.withdraw_request), Decimal(0)),
        "deposit_daily": limits.deposit_daily, "deposited": deposited,
        "deposit_left": max(limits.deposit_daily - deposited, Decimal(0)),
    }
