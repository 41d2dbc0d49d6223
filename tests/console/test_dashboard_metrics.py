"""The dashboard's figures, its JSON endpoint for live polling, and the same figures at /metrics."""
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from exchange.trading.models import Fill
from exchange.trading.services import order_place

D = Decimal


def _activity(market, make_user):
    buyer, seller = make_user(USD="100000"), make_user(BTC="10")
    bid = order_place(user=buyer, market="BTC-USD", side="buy", price="99", quantity="1")
    ask = order_place(user=seller, market="BTC-USD", side="sell", price="101", quantity="1")
    bid.status = ask.status = "open"
    bid.save(update_fields=["status"])
    ask.save(update_fields=["status"])
    for quantity, hours_ago in (("0.5", 1), ("0.25", 2), ("3", 30)):  # the last is older than 24 h
        Fill.objects.create(market=market, sequence=Fill.objects.count() + 1, price=D("100"), quantity=D(quantity),
                            buy_order=bid, sell_order=ask, buyer=buyer, seller=seller, aggressor="buy", buyer_fee=0,
                            seller_fee=0, created_at=timezone.now() - timedelta(hours=hours_ago))
    market.last_price = D("100")
    market.save(update_fields=["last_price"])


def test_dashboard_shows_every_market_and_the_engine_health(admin_client, market, make_user, private_redis):
    _activity(market, make_user)
    page = admin_client.get("/console/")
    assert page.status_code == 200
    (row,) = page.context["overview"]
    assert (row["market"], row["status"], row["last_price"]) == ("BTC-USD", "trading", "100.00")  # at the tick's precision
    assert (row["volume_24h"], row["trades_24h"], row["open_orders"]) == ("0.7500", 2, 2)  # at the lot's precision
    assert (row["best_bid"], row["best_ask"]) == ("99.00", "101.00")
    assert b">0.7500 BTC<" in page.content
    health = page.context["health"]
    assert health["level"] == "red"  # no matcher runs in this test
    assert health["markets"][0]["unapplied_commands"] == 2
    assert b"console/console.js" in page.content


def test_health_json_for_live_polling(compliance_client, market, make_user, private_redis):
    _activity(market, make_user)
    data = compliance_client.get("/console/health.json").json()
    assert set(data) >= {"generated_at", "level", "alerts", "markets", "celery", "overview"}
    (health,) = data["markets"]
    assert set(health) >= {"market", "owned", "owner", "heartbeat_age", "stream_pending", "stream_lag",
                           "unapplied_commands", "last_sequence", "commands_per_second", "level", "problems"}
    assert health["owned"] is False
    assert data["alerts"][0] == "BTC-USD: no matcher holds this market"
    (overview,) = data["overview"]
    # As the first render shows them: prices at the tick's precision, amounts at the lot's.
    assert (overview["best_bid"], overview["last_price"], overview["volume_24h"]) == ("99.00", "100.00", "0.7500")
    assert "celery" in data["celery"]["queues"]


def test_metrics_exports_the_same_figures(client, market, make_user, private_redis):
    _activity(market, make_user)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for line in ('exchange_market_status{market="BTC-USD",status="trading"} 1.0',
                 'exchange_market_trades_24h{market="BTC-USD"} 2.0',
                 'exchange_market_volume_24h{market="BTC-USD"} 0.75',
                 'exchange_market_open_orders{market="BTC-USD"} 2.0',
                 'exchange_market_best_bid{market="BTC-USD"} 99.0',
                 'exchange_matcher_up{market="BTC-USD"} 0.0',
                 'exchange_commands_unapplied{market="BTC-USD"} 2.0',
                 'exchange_celery_queue_length{queue="celery"}'):
        assert line in text, line


def test_metrics_token(client, market, settings, private_redis):
    settings.EXCHANGE_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_matcher_metrics_module(private_redis):
    import redis
    from prometheus_client import REGISTRY

    from exchange.trading.matcher import metrics

    before = REGISTRY.get_sample_value("exchange_matcher_commands_total", {"market": "TEST-X"}) or 0
    metrics.batch_done("TEST-X", 7, 0.004)
    assert REGISTRY.get_sample_value("exchange_matcher_commands_total", {"market": "TEST-X"}) == before + 7
    assert REGISTRY.get_sample_value("exchange_matcher_batch_size_count", {"market": "TEST-X"}) >= 1
    assert REGISTRY.get_sample_value("exchange_matcher_batch_commit_seconds_sum", {"market": "TEST-X"}) >= 0.004

    client = redis.Redis.from_url(private_redis)
    client.xgroup_create("cmd:TEST-X", "matchers", id="0", mkstream=True)
    for i in range(7):
        client.xadd("cmd:TEST-X", {"c": i})
    client.xreadgroup("matchers", "matcher", {"cmd:TEST-X": ">"}, count=3)  # 3 pending, 4 unread
    metrics.backlog_sample("TEST-X", client, "cmd:TEST-X", "matchers")
    assert REGISTRY.get_sample_value("exchange_matcher_stream_backlog", {"market": "TEST-X"}) == 7


def test_user_detail_shows_orders_and_fills_at_the_market_precision(admin_client, market, make_user, private_redis):
    _activity(market, make_user)
    buyer = Fill.objects.first().buyer
    page = admin_client.get(f"/console/users/{buyer.pk}/").content.decode()
    assert "<td>100.00</td><td>0.5000</td>" in page  # a fill: price at the tick, amount at the lot
    assert "<td>99.00</td><td>1.0000</td>" in page  # the open bid
    assert "000000" not in page.split("Ledger")[0]
