"""The order form's fuller toolkit in a real browser against a live server and a real matcher:
a market buy sized by the total to spend, fill-or-kill, a stop-market order that waits and then
triggers, amending an open order in place (with what it does to the queue place), the fee asset
in the fills, and the keyboard shortcuts listed on the page."""
from decimal import Decimal

import pytest

from tests.e2e.conftest import screenshot

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.django_db(transaction=True)
TRADE = "/trade/BTC-USD/"


def live(page):
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def choose(page, *, side: str, order_type: str, tif: str | None = None):
    page.click(f"label[for=side-{side}]")
    page.select_option("#order-type", order_type)
    if tif:
        page.select_option("#tif", tif)


def test_buy_by_quote_amount_and_the_fee_asset_of_each_side(market, browser_user, start_matcher, start_web,
                                                            open_page, errors, wait):
    from exchange.trading.models import Order
    from exchange.trading.services import order_place

    sally = browser_user("sally", BTC="1")
    bruno = browser_user("bruno", USD="10000")
    start_matcher("BTC-USD")
    web = start_web()
    order_place(user=sally, market="BTC-USD", side="sell", price="30000.00", quantity="0.1000")

    buyer = open_page(web.url, username="bruno", path=TRADE)
    seller = open_page(web.url, username="sally", path=TRADE)
    live(buyer)
    expect(buyer.locator('#asks tr[data-price="30000"]')).to_have_count(1)

    # "Spend 600 USD": a market buy sized by quote amount; the amount field gives way to "Spend".
    choose(buyer, side="buy", order_type="market")
    expect(buyer.locator("#size-by")).to_be_visible()
    buyer.select_option("#size-by", "quote")
    expect(buyer.locator("#quantity")).to_be_hidden()
    buyer.fill("#quote-amount", "5")
    buyer.click("#submit-order")
    expect(buyer.locator("#err-quote_amount")).to_contain_text("below the minimum of 10 USD")
    buyer.fill("#quote-amount", "600")
    expect(buyer.locator("#est-total")).to_have_text("600.00 USD")
    expect(buyer.locator("#submit-order")).to_have_text("Buy BTC for 600 USD")
    buyer.click("#submit-order")

    expect(buyer.locator('#asks tr[data-price="30000"]')).to_have_attribute("data-quantity", "0.08")
    order = Order.objects.get(user=bruno)
    assert (order.order_type, order.quote_amount, order.quantity) == ("market", Decimal("600"), None)
    wait(lambda: Order.objects.get(pk=order.pk).status == "filled", message="the quote order fills")
    assert Order.objects.get(pk=order.pk).filled_quantity == Decimal("0.02")
    buyer.click("#tab-history")
    expect(buyer.locator(f'#order-history tr[data-order-id="{order.pk}"]')).to_contain_text("600 USD")

    # The fee asset: the buyer (taker, 0.2 %) pays in the BTC it receives, the seller (maker,
    # 0.1 %) in the USD it receives.
    buyer.click("#tab-fills")
    fill = buyer.locator("#fills tr").first
    expect(fill).to_have_attribute("data-fee-asset", "BTC")
    expect(fill.locator("td").nth(4)).to_have_text("0.00004 BTC")
    expect(fill.locator("td").nth(5)).to_have_text("taker")
    seller.click("#tab-fills")
    fill = seller.locator("#fills tr").first
    expect(fill).to_have_attribute("data-fee-asset", "USD")
    expect(fill.locator("td").nth(4)).to_have_text("0.6 USD")
    expect(fill.locator("td").nth(5)).to_have_text("maker")
    # After a reload the list comes from GET /fills, and still says so.
    seller.reload()
    live(seller)
    seller.click("#tab-fills")
    expect(seller.locator("#fills tr").first.locator("td").nth(4)).to_have_text("0.6 USD")
    buyer.click("#tab-balances")
    expect(buyer.locator('#balances tr[data-asset="USD"] td').nth(1)).to_have_text("9400")
    expect(buyer.locator('#balances tr[data-asset="BTC"] td').nth(1)).to_have_text("0.01996")


def test_fill_or_kill_and_the_keyboard_shortcuts(market, browser_user, start_matcher, start_web, open_page,
                                                 errors, wait):
    from exchange.trading.models import Order
    from exchange.trading.services import order_place

    sally = browser_user("sally", BTC="1")
    browser_user("bruno", USD="10000")
    start_matcher("BTC-USD")
    web = start_web()
    order_place(user=sally, market="BTC-USD", side="sell", price="30000.00", quantity="0.0100")
    page = open_page(web.url, username="bruno", path=TRADE)
    live(page)
    expect(page.locator('#asks tr[data-price="30000"]')).to_have_count(1)

    # The shortcuts are listed on the page, and they work.
    expect(page.locator("#shortcuts")).not_to_have_attribute("open", "")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_have_attribute("open", "")
    expect(page.locator("#shortcuts")).to_contain_text("switch to buy / sell")
    page.keyboard.press("s")
    expect(page.locator("#side-sell")).to_be_checked()
    expect(page.locator("#submit-order")).to_have_text("Sell BTC")
    page.keyboard.press("b")
    expect(page.locator("#side-buy")).to_be_checked()
    page.keyboard.press("/")
    expect(page.locator("#price")).to_be_focused()
    page.keyboard.type("30000")  # typing in a field: "s" and "b" would be text, not shortcuts
    page.keyboard.press("Tab")
    page.keyboard.type("0.02")
    expect(page.locator("#side-buy")).to_be_checked()
    page.keyboard.press("Escape")
    expect(page.locator("#price")).to_have_value("")
    expect(page.locator("#quantity")).to_have_value("")
    expect(page.locator("#quantity")).not_to_be_focused()

    # Fill-or-kill for more than the book has at the price: nothing trades, the order is killed.
    page.select_option("#tif", "fok")
    expect(page.locator("#tif-hint")).to_contain_text("fills in full at once, or nothing is done")
    page.fill("#price", "30000.00")
    page.fill("#quantity", "0.0200")
    page.click("#submit-order")
    killed = wait(lambda: Order.objects.filter(user__username="bruno").first(), message="the FOK order is placed")
    page.click("#tab-history")
    row = page.locator(f'#order-history tr[data-order-id="{killed.pk}"]')
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(row).to_contain_text("limit FOK")
    assert Order.objects.get(pk=killed.pk).filled_quantity == 0
    expect(page.locator('#asks tr[data-price="30000"]')).to_have_attribute("data-quantity", "0.01")

    # For what the book has: it fills in full. FOK stays chosen for the next order.
    expect(page.locator("#tif")).to_have_value("fok")
    page.fill("#price", "30000.00")
    page.fill("#quantity", "0.0100")
    page.click("#submit-order")
    expect(page.locator("#asks tr")).to_have_count(0)
    filled = Order.objects.filter(user__username="bruno").exclude(pk=killed.pk).get()
    assert filled.time_in_force == "fok"
    expect(page.locator(f'#order-history tr[data-order-id="{filled.pk}"]')).to_have_attribute("data-status", "filled")

    # A market order is never good-till-cancelled: GTC is not offered for it.
    page.select_option("#order-type", "market")
    expect(page.locator('#tif option[value="gtc"]')).to_be_disabled()
    # Self-trade prevention: the mode chosen is what the order carries.
    page.select_option("#order-type", "limit")
    page.select_option("#tif", "gtc")
    page.select_option("#stp", "cancel_oldest")
    page.fill("#price", "29000.00")
    page.fill("#quantity", "0.0010")
    page.click("#submit-order")
    page.click("#tab-open")
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(1)
    assert Order.objects.get(user__username="bruno", status__in=["pending", "open"]).stp == "cancel_oldest"


def test_a_stop_market_order_waits_then_triggers(market, browser_user, start_matcher, start_web, open_page,
                                                 errors, wait):
    from exchange.trading.models import Order
    from exchange.trading.services import order_place

    sally = browser_user("sally", BTC="1")
    otto = browser_user("otto", USD="10000")
    browser_user("bruno", USD="10000")
    start_matcher("BTC-USD")
    web = start_web()
    # A first trade at 29900 sets the last price; then asks at 30000 and 30500.
    order_place(user=sally, market="BTC-USD", side="sell", price="29900.00", quantity="0.0100")
    order_place(user=otto, market="BTC-USD", side="buy", price="29900.00", quantity="0.0100")
    order_place(user=sally, market="BTC-USD", side="sell", price="30000.00", quantity="0.0100")
    order_place(user=sally, market="BTC-USD", side="sell", price="30500.00", quantity="0.0500")

    page = open_page(web.url, username="bruno", path=TRADE)
    live(page)
    expect(page.locator("#tape tr")).to_have_count(1)
    choose(page, side="buy", order_type="stop_market")
    expect(page.locator("#price")).to_be_hidden()
    expect(page.locator("#stop-price")).to_be_visible()
    expect(page.locator("#stop-hint")).to_contain_text("at or above this price, then trades at the market")
    page.fill("#stop-price", "30000.005")
    page.fill("#quantity", "0.0200")
    page.click("#submit-order")
    expect(page.locator("#err-stop_price")).to_contain_text("tick size 0.01")
    page.fill("#stop-price", "30000.00")
    page.click("#submit-order")

    # It waits off the book: an open order, not a level in the ladder.
    row = page.locator("#open-orders tr[data-order-id]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("stop-market @ 30000.00")
    stop = Order.objects.get(user__username="bruno")
    assert (stop.order_type, stop.stop_price, stop.price) == ("stop_market", Decimal("30000"), None)
    expect(page.locator("#bids tr")).to_have_count(0)

    # A trade at 30000 triggers it: it buys at the market, from the 30500 ask.
    order_place(user=otto, market="BTC-USD", side="buy", price="30000.00", quantity="0.0100")
    expect(page.locator("#open-orders tr[data-order-id]")).to_have_count(0)
    page.click("#tab-history")
    expect(page.locator(f'#order-history tr[data-order-id="{stop.pk}"]')).to_have_attribute("data-status", "filled")
    page.click("#tab-fills")
    expect(page.locator("#fills tr").first).to_contain_text("30500.00")
    expect(page.locator('#asks tr[data-price="30500"]')).to_have_attribute("data-quantity", "0.03")
    wait(lambda: Order.objects.get(pk=stop.pk).filled_quantity == Decimal("0.02"), message="the stop fills")
    # Few candles: the chart frames them with room for the last time label (screenshot for people).
    page.wait_for_function("() => JSON.parse(document.getElementById('chart').dataset.lastCandle || 'null')?.close === 30500")
    screenshot(page, "trade-stop-market-1440x900.png")


def test_amend_an_open_order_in_place(market, browser_user, start_matcher, start_web, open_page, errors, wait):
    from exchange.trading.models import Order
    from exchange.trading.services import order_place

    browser_user("sally", BTC="1")
    bruno = browser_user("bruno", BTC="1")
    start_matcher("BTC-USD")
    web = start_web()
    page = open_page(web.url, username="sally", path=TRADE)
    other = open_page(web.url, username="bruno", path=TRADE)
    live(page)
    live(other)
    page.click("label[for=side-sell]")
    page.fill("#price", "31000.00")
    page.fill("#quantity", "0.0500")
    page.click("#submit-order")
    row = page.locator("#open-orders tr[data-order-id]")
    expect(row).to_have_count(1)
    order = Order.objects.get(user__username="sally")
    expect(other.locator('#asks tr[data-price="31000"]')).to_have_attribute("data-quantity", "0.05")
    # Someone else joins the level after her: she is first in the queue.
    order_place(user=bruno, market="BTC-USD", side="sell", price="31000.00", quantity="0.0100")
    expect(other.locator('#asks tr[data-price="31000"]')).to_have_attribute("data-quantity", "0.06")
    expect(page.locator(".amend-rule")).to_contain_text("a quantity decrease keeps your place in the queue")

    # A smaller amount: the page says the place is kept, and so does the server.
    page.click(f'button[data-amend="{order.pk}"]')
    quantity = page.get_by_label(f"New amount of order {order.pk} (BTC)")
    price = page.get_by_label(f"New price of order {order.pk} (USD)")
    expect(price).to_be_focused()
    expect(price).to_have_value("31000")
    quantity.fill("0.03")
    hint = page.locator(f'tr[data-amend-for="{order.pk}"] .amend-priority')
    expect(hint).to_have_text("A smaller amount keeps your place in the queue.")
    expect(hint).to_have_attribute("data-kept", "true")
    quantity.fill("0.08")
    expect(hint).to_have_text("A larger amount loses your place in the queue.")
    quantity.fill("0.03")
    page.click(f'button[data-amend-save="{order.pk}"]')
    expect(page.locator("#orders-note")).to_contain_text("your place in the queue is kept")
    expect(page.locator("#orders-note")).to_have_attribute("data-priority-kept", "true")
    expect(row.locator("td").nth(4)).to_have_text("0.0300")
    expect(other.locator('#asks tr[data-price="31000"]')).to_have_attribute("data-quantity", "0.04")
    wait(lambda: Order.objects.get(pk=order.pk).quantity == Decimal("0.03"), message="the amend is applied")

    # Errors: off the tick (checked in the page), then the server's (more than she has).
    errors.expected_network = {"status of 400", "status of 409", "status of 422"}
    page.click(f'button[data-amend="{order.pk}"]')
    price.fill("31100.005")
    page.click(f'button[data-amend-save="{order.pk}"]')
    error = page.locator(f'tr[data-amend-for="{order.pk}"] .amend-error')
    expect(error).to_contain_text("tick size 0.01")
    price.fill("31000.00")
    quantity.fill("5")
    page.click(f'button[data-amend-save="{order.pk}"]')
    expect(error).not_to_be_empty()
    assert Order.objects.get(pk=order.pk).quantity == Decimal("0.03")  # nothing changed
    # Esc leaves the amend; the row is as it was.
    quantity.press("Escape")
    expect(page.locator(f'tr[data-amend-for="{order.pk}"]')).to_have_count(0)
    expect(row.locator("td").nth(4)).to_have_text("0.0300")

    # A new price: the page says the place is lost; the level moves in everyone's ladder.
    page.click(f'button[data-amend="{order.pk}"]')
    price.fill("31200.00")
    expect(hint).to_have_text("A new price loses your place in the queue.")
    price.press("Enter")
    expect(page.locator("#orders-note")).to_contain_text("moves to the back of the queue")
    expect(page.locator("#orders-note")).to_have_attribute("data-priority-kept", "false")
    expect(row.locator("td").nth(3)).to_have_text("31200.00")
    expect(other.locator('#asks tr[data-price="31200"]')).to_have_attribute("data-quantity", "0.03")
    expect(other.locator('#asks tr[data-price="31000"]')).to_have_attribute("data-quantity", "0.01")
    page.locator("#price").blur()
    screenshot(page, "trade-amend-1440x900.png")
