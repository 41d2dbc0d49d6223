"""The console's reads: market overview, user search and detail, funds queues."""
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from exchange.accounts.models import ApiKey, Profile
from exchange.amounts import decimal_places
from exchange.audit.models import LoginRecord
from exchange.console.models import ApprovalRequest, ApprovalStatus
from exchange.ledger.models import Balance, Posting, Withdrawal, WithdrawalStatus
from exchange.markets.models import Market
from exchange.trading.models import OPEN_STATUSES, FeeTier, Fill, Order


def market_overview() -> list[dict]:
    """Every market with its status, last price, 24 h volume and trades, open orders and best
    bid and ask (from the resting orders in PostgreSQL, as of the last committed batch)."""
    since = timezone.now() - timedelta(hours=24)
    fills = {
        r["market_id"]: r
        for r in Fill.objects.filter(created_at__gte=since).values("market_id").annotate(
            volume=Sum("quantity"), notional=Sum(F("price") * F("quantity")), trades=Count("id"))
    }
    resting = Q(status="open", is_waiting_stop=False, order_type__in=("limit", "stop_limit"))
    books = {
        r["market_id"]: r
        for r in Order.objects.filter(status__in=OPEN_STATUSES).values("market_id").annotate(
            open_orders=Count("id"),
            best_bid=Max("price", filter=resting & Q(side="buy")),
            best_ask=Min("price", filter=resting & Q(side="sell")),
        )
    }
    rows = []
    for market in Market.objects.select_related("base", "quote").order_by("symbol"):
        f: Mapping = fills.get(market.pk, {})
        b: Mapping = books.get(market.pk, {})
        rows.append({
            "market": market.symbol, "status": market.status, "last_price": market.last_price,
            "volume_24h": f.get("volume") or 0, "notional_24h": f.get("notional") or 0, "trades_24h": f.get("trades") or 0,
            "open_orders": b.get("open_orders") or 0, "best_bid": b.get("best_bid"), "best_ask": b.get("best_ask"),
            "base": market.base.symbol, "quote": market.quote.symbol,
            "tick_size": market.tick_size, "lot_size": market.lot_size,
        })
    return rows


def _at(value, places: int) -> str | None:
    return None if value is None else f"{Decimal(value):.{places}f}"


def market_overview_text() -> list[dict]:
    """The overview as the dashboard shows it, the same on the first render and on every refresh
    of ``health.json``: prices at the market's tick precision, amounts at its lot precision, as
    strings (the columns are NUMERIC with 18 places, which ``str()`` shows in full)."""
    rows = []
    for row in market_overview():
        price_places, quantity_places = decimal_places(row["tick_size"]), decimal_places(row["lot_size"])
        rows.append({
            **row,
            "last_price": _at(row["last_price"], price_places), "best_bid": _at(row["best_bid"], price_places),
            "best_ask": _at(row["best_ask"], price_places), "volume_24h": _at(row["volume_24h"], quantity_places),
            "notional_24h": _at(row["notional_24h"], price_places),
            "tick_size": _at(row["tick_size"], price_places), "lot_size": _at(row["lot_size"], quantity_places),
        })
    return rows


def user_search(*, q: str, limit: int = 50) -> QuerySet:
    """Users whose name or e-mail contains ``q``, or whose id is ``q``."""
    users = get_user_model().objects.select_related("profile").order_by("username")
    q = (q or "").strip()
    if q:
        match = Q(username__icontains=q) | Q(email__icontains=q)
        if q.isdigit():
            match |= Q(pk=int(q))
        users = users.filter(match)
    return users[:limit]


def user_detail(*, user_id: int, limit: int = 50) -> dict | None:
    """A user's profile, balances, open orders, recent fills, ledger postings, logins and keys."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return None
    profile, _ = Profile.objects.get_or_create(user=user)
    fills = (Fill.objects.filter(Q(buyer=user) | Q(seller=user)).select_related("market")
             .order_by("-created_at", "-id")[:limit])
    return {
        "subject": user,
        "profile": profile,
        "roles": sorted(user.groups.values_list("name", flat=True)),
        "balances": Balance.objects.filter(account__user=user).select_related("asset").order_by("asset__symbol"),
        "open_orders": Order.objects.filter(user=user, status__in=OPEN_STATUSES).select_related("market").order_by("-id"),
        "fills": [{"fill": f, "side": "buy" if f.buyer_id == user.pk else "sell",
                   "fee": f.buyer_fee if f.buyer_id == user.pk else f.seller_fee} for f in fills],
        "postings": (Posting.objects.filter(account__user=user).select_related("entry", "asset")
                     .order_by("-entry__created_at", "-id")[:limit]),
        "logins": LoginRecord.objects.filter(user=user)[:20],
        "api_keys": ApiKey.objects.filter(user=user).order_by("-created_at"),
        "withdrawals": Withdrawal.objects.filter(user=user).select_related("asset").order_by("-created_at")[:20],
    }


def withdrawal_queue() -> QuerySet:
    return Withdrawal.objects.filter(status=WithdrawalStatus.REQUESTED).select_related("user", "asset").order_by("created_at")


def approvals_pending() -> QuerySet:
    """Requests waiting for a second admin; a withdrawal's lapses when the user cancels it."""
    lapsed = Q(withdrawal__isnull=False) & ~Q(withdrawal__status=WithdrawalStatus.REQUESTED)
    return (ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).exclude(lapsed)
            .select_related("user", "asset", "requested_by", "withdrawal").order_by("created_at"))


def approvals_recent(limit: int = 20) -> QuerySet:
    return (ApprovalRequest.objects.exclude(status=ApprovalStatus.PENDING)
            .select_related("user", "asset", "requested_by", "decided_by").order_by("-decided_at")[:limit])


def fee_schedule() -> dict:
    return {
        "markets": Market.objects.select_related("quote").order_by("symbol"),
        "tiers": FeeTier.objects.select_related("quote").order_by("quote__symbol", "min_volume"),
    }
