"""The console dashboard in a real browser: its 2 s refresh keeps the numbers at the market's
precision (the first render and every refresh agree), and the health panel's time is in the
reader's local format, not raw ISO 8601."""
import re

import pytest
from django.test import Client

from exchange.accounts.roles import ADMIN
from exchange.accounts.services import user_create
from tests.conftest import PASSWORD
from tests.console.conftest import verified_login

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = pytest.mark.django_db(transaction=True)

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def test_the_dashboard_refresh_keeps_the_market_precision(market, browser_user, start_matcher, start_web, open_page,
                                                          errors, wait):
    from exchange.trading.models import Fill, Order
    from exchange.trading.services import order_place

    sally = browser_user("sally", BTC="1")
    bruno = browser_user("bruno", USD="10000")
    ada = user_create(username="ada", email="ada@example.com", password=PASSWORD, role=ADMIN)
    start_matcher("BTC-USD")
    web = start_web()
    order_place(user=sally, market="BTC-USD", side="sell", price="30002.25", quantity="0.0123")
    order_place(user=bruno, market="BTC-USD", side="buy", price="30002.25", quantity="0.0123")
    order_place(user=bruno, market="BTC-USD", side="buy", price="29990.00", quantity="0.0100")
    wait(lambda: Fill.objects.exists() and Order.objects.filter(status="open").count() == 1,
         message="the trade and the resting bid")

    # Staff need two-factor for the console: a session that has passed it, as the console tests make one.
    session = verified_login(Client(), ada).cookies["sessionid"].value
    page = open_page(web.url, path="/console/",
                     setup=lambda p: p.context.add_cookies([{"name": "sessionid", "value": session, "url": web.url}]))
    row = page.locator('#overview-table tr[data-market="BTC-USD"]')
    cells = row.locator("td")

    def at_market_precision():
        expect(cells.nth(2)).to_have_text("30002.25")
        expect(cells.nth(3)).to_have_text("29990.00")
        expect(cells.nth(5)).to_have_text("0.0123 BTC")

    at_market_precision()  # the first render
    expect(page.locator("#overview-table")).to_have_attribute("data-refreshes", re.compile(r"^[2-9]|\d\d"), timeout=15_000)
    at_market_precision()  # after two refreshes from health.json
    assert "000000" not in row.inner_text()

    updated = page.locator("#health-updated")
    assert ISO.match(updated.get_attribute("datetime"))
    text = updated.inner_text()
    assert not ISO.search(text), text
    assert re.search(r"\d{1,2}:\d{2}:\d{2}", text), text
