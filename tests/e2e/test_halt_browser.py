"""A halt from the console reaches a trader's open page live: the status switches to "halted"
without a reload, and the order form then refuses new orders next to the button."""
import pytest

from exchange.accounts.roles import ADMIN
from exchange.accounts.services import user_create

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.django_db(transaction=True)

TRADE = "/trade/BTC-USD/"


def test_the_trading_page_switches_to_halted_live(market, browser_user, start_matcher, start_web, open_page, errors):
    from exchange.console.services.markets import market_status_change

    browser_user("sally", USD="10000")
    start_matcher("BTC-USD")
    web = start_web()
    page = open_page(web.url, username="sally", path=TRADE)
    admin = user_create(username="ada", email="ada@example.com", password="correct-horse-battery-42", role=ADMIN)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator("#t-status")).to_have_text("trading")

    market_status_change(actor=admin, ip="127.0.0.1", market="BTC-USD", status="halted", reason="incident drill")
    expect(page.locator("#t-status")).to_have_text("halted")  # pushed over the WebSocket, no reload

    market_status_change(actor=admin, ip="127.0.0.1", market="BTC-USD", status="trading", reason="drill over")
    expect(page.locator("#t-status")).to_have_text("trading")
    assert errors.errors == []
