"""``examples/ccxt_market_maker.py`` as a user runs it (a real process, keys in the environment)
against a live venue, while a taker hits its quotes through the driver: it quotes both sides,
re-quotes after each fill, exits cleanly with its orders cancelled, and its fills are in the
ledger."""
import os
import subprocess
import sys
import time

import pytest

from tests.ccxt.conftest import D
from tests.conftest import ROOT, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_market_maker_quotes_requotes_on_fills_and_its_fills_reach_the_ledger(live, make_user, venue_for, ledger_clean, tmp_path):
    from exchange.accounts.services import api_key_create
    from exchange.ledger.models import Posting
    from exchange.trading.models import Fill

    maker_user = make_user("mm", BTC="1", USD="50000")
    taker = venue_for(make_user("taker", BTC="1", USD="50000"))
    api_key, secret = api_key_create(user=maker_user, scopes=["read", "trade"])
    env = {**os.environ, "EXCHANGE_KEY": api_key.key, "EXCHANGE_SECRET": secret, "PYTHONUNBUFFERED": "1"}
    log_path = tmp_path / "mm.log"
    with open(log_path, "wb") as log:
        bot = subprocess.Popen([sys.executable, "examples/ccxt_market_maker.py", "14", "--url", live, "--mid", "30000",
                                "--size", "0.01", "--spread-bps", "20"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            def quotes() -> list[dict]:
                book = taker.fetch_order_book("BTC/USD")
                return book if book["bids"] and book["asks"] else None

            book = wait_until(quotes, timeout=30, interval=0.3, message="the bot's two quotes")
            # 30000 -/+ 0.1%: 29970 and 30030.
            assert (D(book["bids"][0][0]), D(book["asks"][0][0])) == (D("29970"), D("30030"))
            taker.create_order("BTC/USD", "market", "sell", 0.01)  # hits the bid
            # The bot re-quotes around the new mid: a fresh bid comes back.
            wait_until(lambda: (b := taker.fetch_order_book("BTC/USD"))["bids"] and b["asks"], timeout=30, interval=0.3,
                       message="the re-quote")
            time.sleep(1.5)
            taker.create_order("BTC/USD", "limit", "buy", 0.01, 31000.0, {"timeInForce": "IOC"})  # lifts the ask
            assert bot.wait(timeout=60) == 0, log_path.read_text()
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.wait()
    output = log_path.read_text()
    assert output.count("fill ") == 2, output
    assert output.count("quote buy") >= 2, output  # re-quoted after the fills
    assert output.count("quote sell") >= 2, output
    assert "done: 2 fills" in output
    assert Fill.objects.filter(buyer=maker_user).count() == 1
    assert Fill.objects.filter(seller=maker_user).count() == 1
    assert Posting.objects.filter(account__user=maker_user, entry__kind="trade").exists()
    assert taker.fetch_order_book("BTC/USD")["bids"] == []  # it cancelled its quotes on the way out
    ledger_clean()
