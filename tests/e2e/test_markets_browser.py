"""The markets page in a real browser against a live server and a real matcher: every row moves
live over ONE WebSocket (the multi-market ``/ws/stream/``), not one socket per market."""
import pytest

expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_rows_update_over_a_single_socket(market, assets, browser_user, start_matcher, start_web, open_page, errors):
    from exchange.markets.services import market_create
    from exchange.trading.services import order_place

    market_create(base=assets["ETH"], quote=assets["USD"], tick_size="0.01", lot_size="0.0001", min_notional="1")
    seller = browser_user("sam", BTC="1", ETH="10")
    buyer = browser_user("bea", USD="100000")
    start_matcher("BTC-USD", "ETH-USD")
    web = start_web()
    sockets: list[str] = []
    page = open_page(web.url, path="/", setup=lambda p: p.on("websocket", lambda ws: sockets.append(ws.url)))
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    btc, eth = page.locator('tr[data-symbol="BTC-USD"]'), page.locator('tr[data-symbol="ETH-USD"]')
    expect(btc.locator("[data-field=last]")).to_have_text("—")
    expect(eth.locator("[data-field=last]")).to_have_text("—")

    def trade(symbol: str, price: str, quantity: str) -> None:
        order_place(user=seller, market=symbol, side="sell", price=price, quantity=quantity)
        order_place(user=buyer, market=symbol, side="buy", price=price, quantity=quantity)

    trade("BTC-USD", "30000", "0.01")
    trade("ETH-USD", "2000", "0.5")
    # The matcher spawns its fan-out process on its first publish: seconds on a busy machine.
    expect(btc.locator("[data-field=last]")).to_have_text("30000.00", timeout=30_000)
    expect(eth.locator("[data-field=last]")).to_have_text("2000.00")
    trade("ETH-USD", "2010.5", "0.25")
    expect(eth.locator("[data-field=last]")).to_have_text("2010.50")
    # The ticker (at most once a second per market) fills the 24 h columns, still without a reload.
    expect(eth.locator("[data-field=high]")).to_have_text("2010.50")
    expect(eth.locator("[data-field=low]")).to_have_text("2000.00")
    expect(btc.locator("[data-field=change_pct]")).to_have_text("0.00%")

    assert len(sockets) == 1, sockets
    assert sockets[0].endswith("/ws/stream/"), sockets
