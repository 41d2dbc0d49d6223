"""``/metrics``: the dashboard's figures in the Prometheus text format.

Figures are computed at scrape time by a custom collector (nothing is kept in this process),
so every web process answers the same. When ``EXCHANGE_METRICS_TOKEN`` is set, the scraper
must send ``Authorization: Bearer <token>``; otherwise restrict ``/metrics`` at the proxy.
"""
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from exchange.console.health import celery_health, market_health
from exchange.console.selectors import market_overview
from exchange.markets.models import MarketStatus


class VenueCollector:
    def collect(self):
        overview = market_overview()
        health = market_health()
        celery = celery_health()

        def gauge(name, doc, labels=("market",)):
            return GaugeMetricFamily(name, doc, labels=list(labels))

        status = gauge("exchange_market_status", "1 for the market's current status", ("market", "status"))
        last_price = gauge("exchange_market_last_price", "Last trade price")
        volume = gauge("exchange_market_volume_24h", "Base volume traded over 24 h")
        notional = gauge("exchange_market_notional_24h", "Quote notional traded over 24 h")
        trades = gauge("exchange_market_trades_24h", "Trades over 24 h")
        open_orders = gauge("exchange_market_open_orders", "Open and pending orders")
        best_bid = gauge("exchange_market_best_bid", "Best resting bid price")
        best_ask = gauge("exchange_market_best_ask", "Best resting ask price")
        # Prometheus samples are float64 by protocol: these are display gauges for monitoring,
        # converted at the very edge; nothing computes with them.
        for m in overview:
            for s in MarketStatus.values:
                status.add_metric([m["market"], s], 1.0 if m["status"] == s else 0.0)
            if m["last_price"] is not None:
                last_price.add_metric([m["market"]], float(m["last_price"]))
            volume.add_metric([m["market"]], float(m["volume_24h"]))
            notional.add_metric([m["market"]], float(m["notional_24h"]))
            trades.add_metric([m["market"]], m["trades_24h"])
            open_orders.add_metric([m["market"]], m["open_orders"])
            if m["best_bid"] is not None:
                best_bid.add_metric([m["market"]], float(m["best_bid"]))
            if m["best_ask"] is not None:
                best_ask.add_metric([m["market"]], float(m["best_ask"]))
        yield from (status, last_price, volume, notional, trades, open_orders, best_bid, best_ask)

        up = gauge("exchange_matcher_up", "1 when a matcher holds the market's lock")
        healthy = gauge("exchange_matcher_healthy", "1 ok, 0.5 warning, 0 red")
        heartbeat = gauge("exchange_matcher_heartbeat_age_seconds", "Seconds since the matcher's last heartbeat")
        sequence = gauge("exchange_matcher_last_sequence", "Last applied sequence number")
        pending = gauge("exchange_stream_pending", "Stream entries delivered to the matcher and not acknowledged")
        lag = gauge("exchange_stream_lag", "Stream entries not yet read by the matcher")
        unapplied = gauge("exchange_commands_unapplied", "Commands in PostgreSQL not yet applied")
        rate = gauge("exchange_commands_per_second", "Commands applied per second over the last minute")
        for h in health:
            labels = [h["market"]]
            up.add_metric(labels, 1.0 if h["owned"] else 0.0)
            healthy.add_metric(labels, {"ok": 1.0, "warn": 0.5}.get(h["level"], 0.0))
            if h["heartbeat_age"] is not None:
                heartbeat.add_metric(labels, h["heartbeat_age"])
            sequence.add_metric(labels, h["last_sequence"])
            if h["stream_pending"] is not None:
                pending.add_metric(labels, h["stream_pending"])
            if h["stream_lag"] is not None:
                lag.add_metric(labels, h["stream_lag"])
            unapplied.add_metric(labels, h["unapplied_commands"])
            rate.add_metric(labels, h["commands_per_second"])
        yield from (up, healthy, heartbeat, sequence, pending, lag, unapplied, rate)

        queue = gauge("exchange_celery_queue_length", "Tasks waiting in the broker queue", ("queue",))
        for name, length in celery["queues"].items():
            queue.add_metric([name], length)
        workers = GaugeMetricFamily("exchange_celery_workers", "Celery workers answering a ping")
        workers.add_metric([], len(celery["workers"]))
        yield from (queue, workers)


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.EXCHANGE_METRICS_TOKEN
    if token:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HttpResponseForbidden("metrics token required\n")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VenueCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
