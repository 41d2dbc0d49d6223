"""The alert chart: price and the touch around the episode, the alert accounts' orders marked.

Server-rendered SVG with classes only (the CSP forbids inline styles and scripts); the colours
live in ``static/surveillance/surveillance.css``.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_Y = 900, 320, 70, 20, 24


def _num(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def price_chart(*, samples: list[dict], accounts: list, start: datetime, end: datetime,
                window: tuple[datetime, datetime]) -> SafeString:
    """``samples`` come from ``selectors.replay``: one per journal event in the window."""
    t0, t1 = window
    span = max((t1 - t0).total_seconds(), 1e-6)
    keys = {str(a) for a in accounts}
    prices = [p for s in samples for p in (_num(s["bid"]), _num(s["ask"]), _num(s["price"])) if p is not None]
    marks = []
    for s in samples:
        payload = s["payload"]
        if s["type"] in ("order_accepted", "order_amended", "order_cancelled") and str(payload.get("account")) in keys:
            marks.append(s)
            order_price = _num(payload.get("price"))
            if order_price:
                prices.append(order_price)
    if not prices:
        return mark_safe('<p class="muted">No prices in the journal around this episode.</p>')
    low, high = min(prices), max(prices)
    if low == high:
        low, high = low - 1, high + 1
    pad = (high - low) * Decimal("0.05")
    low, high = low - pad, high + pad

    def x(ts: datetime) -> float:
        return PAD_LEFT + (ts - t0).total_seconds() / span * (WIDTH - PAD_LEFT - PAD_RIGHT)

    def y(price: Decimal) -> float:
        return PAD_Y + float((high - price) / (high - low)) * (HEIGHT - 2 * PAD_Y)

    out = [f'<svg class="surv-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="Price, best bid and ask, and the account orders around the episode">']
    out.append(f'<rect class="episode" x="{x(start):.1f}" y="{PAD_Y}" width="{max(x(end) - x(start), 2):.1f}" '
               f'height="{HEIGHT - 2 * PAD_Y}"><title>alert episode</title></rect>')
    for i in range(5):
        price = low + (high - low) * i / 4
        out.append(f'<line class="gridline" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y(price):.1f}" y2="{y(price):.1f}"/>')
        out.append(f'<text class="axis" x="{PAD_LEFT - 6}" y="{y(price) + 4:.1f}" text-anchor="end">{price:.2f}</text>')
    out.append(f'<text class="axis" x="{PAD_LEFT}" y="{HEIGHT - 4}">{t0:%H:%M:%S}</text>')
    out.append(f'<text class="axis" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 4}" text-anchor="end">{t1:%H:%M:%S} UTC</text>')
    for side in ("bid", "ask"):
        points, last = [], None
        for s in samples:
            value = _num(s[side])
            if value is None:
                last = None
                continue
            if last is not None:
                points.append(f"{x(s['ts']):.1f},{y(last):.1f}")
            points.append(f"{x(s['ts']):.1f},{y(value):.1f}")
            last = value
        if points:
            out.append(f'<polyline class="{side}" points="{" ".join(points)}"/>')
    for s in samples:
        trade_price = _num(s["price"]) if s["type"] == "trade" else None
        if trade_price:
            mine = str(s["payload"].get("buyer")) in keys or str(s["payload"].get("seller")) in keys
            out.append(f'<circle class="fill-dot{" mine" if mine else ""}" cx="{x(s["ts"]):.1f}" cy="{y(trade_price):.1f}" '
                       f'r="{4 if mine else 2.5}"><title>#{s["seq"]} trade {escape(str(s["payload"].get("quantity")))} @ '
                       f'{escape(str(s["price"]))}</title></circle>')
    known: dict[object, Decimal | None] = {}
    for s in marks:
        payload = s["payload"]
        marked = _num(payload.get("price")) or known.get(payload.get("order_id"))
        known[payload.get("order_id")] = marked
        if marked is None:
            continue
        cx, cy = x(s["ts"]), y(marked)
        kind = s["type"].split("_")[1]
        side = payload.get("side", "")
        title = escape(f"#{s['seq']} {kind} order {payload.get('order_id')} {side} {payload.get('quantity', '')} @ {marked}")
        if kind == "cancelled":
            out.append(f'<path class="order cancelled" d="M{cx - 4:.1f},{cy - 4:.1f}L{cx + 4:.1f},{cy + 4:.1f}'
                       f'M{cx - 4:.1f},{cy + 4:.1f}L{cx + 4:.1f},{cy - 4:.1f}"><title>{title}</title></path>')
        else:
            tip = -6 if side == "buy" else 6
            out.append(f'<path class="order {escape(side)} {kind}" d="M{cx:.1f},{cy + tip:.1f}L{cx - 5:.1f},{cy - tip:.1f}'
                       f'L{cx + 5:.1f},{cy - tip:.1f}Z"><title>{title}</title></path>')
    out.append("</svg>")
    return mark_safe("".join(out))
