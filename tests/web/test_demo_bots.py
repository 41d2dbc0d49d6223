"""The demo bots trade through the real order path: a real matcher fills their orders."""
import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)


def test_command_does_nothing_outside_demo_mode(settings, capsys):
    settings.EXCHANGE_DEMO_MODE = False
    call_command("run_demo_bots", "--steps", "1", "--interval", "0")
    assert capsys.readouterr().out == ""


def test_bots_quote_and_trade_through_the_matcher(settings, redis_url, start_matcher, wait, ledger_clean):
    from exchange.demo import seed_demo
    from exchange.demo_bots import DemoBots
    from exchange.trading.models import Fill, Order

    settings.EXCHANGE_DEMO_MODE = True
    seed_demo()
    start_matcher("BTC-USD", "ETH-USD", "ETH-BTC")
    bots = DemoBots(seed=7)
    assert {b.market.symbol for b in bots.bots} == {"BTC-USD", "ETH-USD", "ETH-BTC"}
    sent = sum(bots.step() for _ in range(8))
    assert sent > 0
    wait(lambda: not Order.objects.filter(status="pending").exists(), timeout=60, message="the matcher applies every order")
    wait(lambda: Fill.objects.filter(market__symbol="BTC-USD").exists(), timeout=30, message="a BTC-USD trade")
    assert Order.objects.filter(user__username="maker", status="open").exists()
    assert not Order.objects.filter(status="rejected").exists()
    ledger_clean()
