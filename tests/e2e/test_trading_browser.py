"""Two traders in two browsers against a live server and a real matcher: the book, tape, fills,
balances and chart move without a reload; form errors show next to their field; the page
survives a server restart and shows the right book afterwards; no JavaScript errors."""
import json
import re

import pytest

from tests.e2e.conftest import axe_check, restart_web, screenshot

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.django_db(transaction=True)
TRADE = "/trade/BTC-USD/"


def live(page):
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def place(page, side: str, price: str, quantity: str, *, order_type: str = "limit"):
    page.click(f"label[for=side-{side}]")
    page.select_option("#order-type", order_type)
    if order_type != "market":
        page.fill("#price", price)
    page.fill("#quantity", quantity)
    page.click("#submit-order")


def test_two_traders_see_each_other_live(market, browser_user, start_matcher, start_web, open_page, errors):
    browser_user("sally", BTC="1")
    browser_user("bruno", USD="10000")
    start_matcher("BTC-USD")
    web = start_web()

    seller = open_page(web.url, username="sally", path=TRADE)
    buyer = open_page(web.url, username="bruno", path=TRADE)
    live(seller)
    live(buyer)

    # A sells; B sees the level appear in the ladder without reloading.
    place(seller, "sell", "30000.00", "0.0100")
    expect(seller.locator("#open-orders tr")).to_have_count(1)
    expect(seller.locator("#available")).to_have_text("0.99 BTC")  # the order's hold
    ask = buyer.locator('#asks tr[data-price="30000"]')
    expect(ask).to_have_attribute("data-quantity", "0.01")

    # B clicks the price in the ladder (it fills the form) and buys.
    ask.locator("button.px").click()
    expect(buyer.locator("#price")).to_have_value("30000")
    buyer.fill("#quantity", "0.01")
    expect(buyer.locator("#est-total")).to_contain_text("300.00 USD")
    buyer.click("#submit-order")

    for page in (seller, buyer):
        expect(page.locator("#tape tr").first).to_contain_text("30000.00")
        expect(page.locator("#asks tr")).to_have_count(0)
        page.click("#tab-fills")
        expect(page.locator("#fills tr")).to_have_count(1)
        expect(page.locator("#fills tr").first).to_contain_text("30000.00")
        page.click("#tab-history")
        expect(page.locator("#order-history tr[data-status=filled]")).to_have_count(1)
        page.click("#tab-balances")
        page.wait_for_function("() => JSON.parse(document.getElementById('chart').dataset.lastCandle || 'null')?.close === 30000")
        candle = json.loads(page.locator("#chart").get_attribute("data-last-candle"))
        assert candle["close"] == 30000
        assert candle["volume"] >= 0.01
    # Balances moved: the seller (maker) has dollars, the buyer (taker) bitcoin, each less its fee.
    expect(seller.locator('#balances tr[data-asset="USD"] td').nth(1)).to_have_text("299.7")  # maker fee 0.1 %
    expect(seller.locator('#balances tr[data-asset="BTC"] td').nth(1)).to_have_text("0.99")
    expect(buyer.locator('#balances tr[data-asset="BTC"] td').nth(1)).to_have_text("0.00998")  # taker fee 0.2 %
    expect(buyer.locator('#balances tr[data-asset="USD"] td').nth(1)).to_have_text("9700")

    # Screenshots for people (artifacts/, not committed), with a resting book to look at.
    place(seller, "sell", "30100.00", "0.0500")
    place(buyer, "buy", "29900.00", "0.0500")
    expect(buyer.locator('#asks tr[data-price="30100"]')).to_have_count(1)
    expect(buyer.locator('#bids tr[data-price="29900"]')).to_have_count(1)
    buyer.click("#tab-open")
    buyer.locator("#price").blur()
    screenshot(buyer, "trade-1440x900.png")
    phone = open_page(web.url, username="bruno", path=TRADE, viewport=(390, 844))
    live(phone)
    expect(phone.locator('#bids tr[data-price="29900"]')).to_have_count(1)
    expect(phone.locator("#available")).to_have_text("8205 USD")  # 9700 less the 1495 held by the resting bid
    expect(phone.locator("#t-volume")).to_have_text("0.01")
    phone.wait_for_function("() => document.getElementById('chart').dataset.lastCandle")
    screenshot(phone, "trade-390x844.png")

    # Accessibility smoke check: axe-core finds no serious or critical WCAG 2 A/AA violation.
    violations = axe_check(buyer)
    assert not violations, violations
    markets = open_page(web.url, path="/")
    expect(markets.locator('tr[data-symbol="BTC-USD"] [data-field=last]')).to_have_text("30000.00")
    assert not axe_check(markets)


def test_form_errors_keyboard_and_a_server_restart(market, browser_user, start_matcher, start_web, open_page,
                                                   errors, redis_url, wait):
    from exchange.markets.models import Market
    from exchange.trading.models import Order
    from exchange.trading.services import order_cancel_all, order_place

    trader = browser_user("carla", USD="100", BTC="0.5")
    other = browser_user("otto", BTC="1")
    start_matcher("BTC-USD")
    web = start_web()
    dropping = {"on": False, "dropped": []}

    def drop_one_book_message(page):
        # Between the server and the page: lose one book message when asked, as a flaky network would.
        def route(ws):
            server = ws.connect_to_server()

            def from_server(message):
                if dropping["on"] and not dropping["dropped"] and json.loads(message).get("type") == "book":
                    dropping["dropped"].append(message)
                    return
                ws.send(message)

            server.on_message(from_server)

        page.route_web_socket(re.compile(r"/ws/markets/"), route)

    page = open_page(web.url, username="carla", path=TRADE, setup=drop_one_book_message)
    live(page)

    # A lost book message: the next one shows the gap, and the page fills it from book-updates.
    dropping["on"] = True
    order_place(user=other, market="BTC-USD", side="sell", price="32000.00", quantity="0.01")
    for _ in range(400):  # Playwright runs the route's callbacks only while it is called
        if dropping["dropped"]:
            break
        page.wait_for_timeout(50)
    assert dropping["dropped"], "no book message was dropped"
    expect(page.locator('#asks tr[data-price="32000"]')).to_have_count(0)
    order_place(user=other, market="BTC-USD", side="sell", price="32500.00", quantity="0.01")
    expect(page.locator('#asks tr[data-price="32000"]')).to_have_count(1)
    expect(page.locator('#asks tr[data-price="32500"]')).to_have_count(1)
    expect(page.locator("#trade")).to_have_attribute("data-gaps", "1")
    expect(page.locator("#trade")).to_have_attribute("data-resnapshots", "0")
    order_cancel_all(user=other, market="BTC-USD")
    expect(page.locator("#asks tr")).to_have_count(0)

    # Client-side checks, the same as the server's: the tick and the minimum notional.
    place(page, "buy", "30000.005", "0.0100")
    expect(page.locator("#err-price")).to_contain_text("tick size 0.01")
    expect(page.locator("#price")).to_have_attribute("aria-invalid", "true")
    place(page, "buy", "30000.00", "0.0001")
    expect(page.locator("#err-quantity")).to_contain_text("below the minimum of 10 USD")
    place(page, "buy", "30000.00", "0.00001")
    expect(page.locator("#err-quantity")).to_contain_text("lot size 0.0001")

    # The server's errors, next to the field they are about: not enough dollars...
    errors.expected_network = {"status of 400", "status of 409"}
    place(page, "buy", "30000.00", "0.0100")
    expect(page.locator("#err-quantity")).to_contain_text("not enough available USD")
    # ... and a halted market (the page learnt the status at load; the server refuses).
    Market.objects.filter(pk=market.pk).update(status="halted")
    place(page, "sell", "30000.00", "0.0100")
    expect(page.locator("#err-form")).to_contain_text("BTC-USD is halted")
    Market.objects.filter(pk=market.pk).update(status="trading")

    # Keyboard only: Tab through the form and submit with Enter.
    page.fill("#price", "")
    page.fill("#quantity", "")
    page.focus("#side-sell")
    page.keyboard.press("Tab")
    expect(page.locator("#order-type")).to_be_focused()
    page.focus("#price")
    page.keyboard.type("31000")
    page.keyboard.press("Tab")
    expect(page.locator("#quantity")).to_be_focused()
    page.keyboard.type("0.001")
    page.keyboard.press("Enter")
    expect(page.locator('#asks tr[data-price="31000"]')).to_have_count(1)
    expect(page.locator("#open-orders tr")).to_have_count(1)
    assert not page.locator("#err-form").text_content()

    # The server goes away: the indicator says so; meanwhile the book changes.
    errors.expected_network |= {"WebSocket connection to", "ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET",
                                "ERR_EMPTY_RESPONSE"}
    web.stop()
    expect(page.locator("#conn")).not_to_have_attribute("data-state", "live")
    order_place(user=other, market="BTC-USD", side="sell", price="30500.00", quantity="0.02")
    order_place(user=trader, market="BTC-USD", side="buy", price="29000.00", quantity="0.001")
    wait(lambda: Order.objects.filter(status="open").count() == 3, message="the matcher books the orders")

    # Back up: the page re-syncs by itself (no reload) and shows the right book.
    restart_web(web, redis_url)
    live(page)
    expect(page.locator('#asks tr[data-price="30500"]')).to_have_attribute("data-quantity", "0.02")
    expect(page.locator('#asks tr[data-price="31000"]')).to_have_attribute("data-quantity", "0.001")
    expect(page.locator('#bids tr[data-price="29000"]')).to_have_attribute("data-quantity", "0.001")
    expect(page.locator("#open-orders tr")).to_have_count(2)  # the user stream re-synced too
    ladder = page.evaluate("() => [...document.querySelectorAll('#asks tr, #bids tr')].map(r => r.dataset.price)")
    assert ladder == ["31000", "30500", "29000"]
