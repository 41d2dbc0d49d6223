"""The venue's refusals as ccxt's exception classes, and ccxt's precision helpers filled from the
market rules, against a live venue. Each refusal comes from the real venue (a real rule, a real
signature check, a real rate limit, a web process without its database), never from a stub."""
import ccxt
import pytest

from tests.ccxt.conftest import D, wait_status
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_order_refusals_raise_the_ccxt_class_a_bot_expects(make_user, venue_for, ledger_clean):
    venue = venue_for(make_user("alice", USD="1000", BTC="0.01"))
    other = venue_for(make_user("bob", USD="1000"))

    with pytest.raises(ccxt.InsufficientFunds):
        venue.create_order("BTC/USD", "limit", "buy", 1, 20000)  # 20000 USD, 1000 held
    with pytest.raises(ccxt.InsufficientFunds):
        venue.create_order("BTC/USD", "limit", "sell", 0.02, 20000)  # 0.02 BTC, 0.01 held
    with pytest.raises(ccxt.InvalidOrder, match="min_notional"):
        venue.create_order("BTC/USD", "limit", "buy", 0.0001, 20000)  # 2 USD < 10
    with pytest.raises(ccxt.InvalidOrder, match="max_quantity"):
        venue.create_order("BTC/USD", "limit", "buy", 200, 1)
    with pytest.raises(ccxt.InvalidOrder):
        venue.create_order("BTC/USD", "limit", "buy", 0.001, 20000, {"postOnly": True, "timeInForce": "IOC"})
    # What the driver's rounding would have fixed, sent raw: the venue's own tick check.
    with pytest.raises(ccxt.InvalidOrder, match="tick_size"):
        venue.request("orders", "private", "POST",
                      {"market": "BTC-USD", "side": "buy", "price": "20000.005", "quantity": "0.001"})
    with pytest.raises(ccxt.BadSymbol):
        venue.request("orders", "private", "POST", {"market": "NOPE-USD", "side": "buy", "price": "1", "quantity": "1"})
    with pytest.raises(ccxt.BadRequest):
        venue.request("orders", "private", "GET", {"status": "sideways"})

    # Unknown, foreign and finished orders: OrderNotFound, whichever way they are named.
    theirs = other.create_order("BTC/USD", "limit", "buy", 0.001, 20000, {"clientOrderId": "bobs"})
    wait_status(other, theirs["id"], "open")
    for call in (lambda: venue.fetch_order("999999999"), lambda: venue.fetch_order(theirs["id"]),
                 lambda: venue.fetch_order("not-a-number"), lambda: venue.cancel_order(theirs["id"]),
                 lambda: venue.fetch_order(None, None, {"clientOrderId": "bobs"}),
                 lambda: venue.cancel_order(None, None, {"clientOrderId": "nobody-has-this"}),
                 lambda: venue.edit_order(theirs["id"], "BTC/USD", "limit", "buy", 0.0005, None)):
        with pytest.raises(ccxt.OrderNotFound):
            call()
    assert other.fetch_order(theirs["id"])["status"] == "open"  # untouched
    mine = venue.create_order("BTC/USD", "limit", "buy", 0.001, 20000)
    venue.cancel_order(mine["id"])
    wait_status(venue, mine["id"], "cancelled")
    with pytest.raises(ccxt.OrderNotFound):
        venue.cancel_order(mine["id"])  # already cancelled: ccxt's convention
    with pytest.raises(ccxt.InvalidOrder):
        venue.edit_order(mine["id"], "BTC/USD", "limit", "buy", 0.0005, None)
    with pytest.raises(ccxt.InvalidOrder, match="tick_size"):
        other.request("orders/{id}", "private", "PATCH", {"id": theirs["id"], "price": "20000.001"})
    with pytest.raises(ccxt.InsufficientFunds):
        other.edit_order(theirs["id"], "BTC/USD", "limit", "buy", 0.001, 2_000_000)  # 2000 USD, 980 free
    ledger_clean()


def test_signing_and_load_refusals(make_user, venue_for, start_web):
    user = make_user("alice", USD="1000")
    good = venue_for(user)
    assert D(good.fetch_balance()["USD"]["total"]) == D("1000")

    bad_secret = venue_for(user)
    bad_secret.secret = "not the secret"
    with pytest.raises(ccxt.AuthenticationError):
        bad_secret.fetch_balance()
    unknown_key = venue_for(user)
    unknown_key.apiKey = "no-such-key"
    with pytest.raises(ccxt.AuthenticationError):
        unknown_key.fetch_balance()
    no_key = venue_for(user)
    no_key.apiKey = ""
    with pytest.raises(ccxt.AuthenticationError):  # ccxt's own check: no credentials, no request
        no_key.fetch_balance()
    read_only = venue_for(user, scopes=("read",))
    read_only.fetch_balance()
    with pytest.raises(ccxt.PermissionDenied):
        read_only.create_order("BTC/USD", "limit", "buy", 0.001, 20000)

    # A clock 60 s behind: the venue refuses the stale timestamp (InvalidNonce); ccxt's clock
    # sync (fetch_time) corrects it.
    late = venue_for(user)
    late.options["timeDifference"] = 60_000
    with pytest.raises(ccxt.InvalidNonce):
        late.fetch_balance()
    late.load_time_difference()
    assert D(late.fetch_balance()["USD"]["total"]) == D("1000")

    # The venue's order rate limit (one order a second here): RateLimitExceeded.
    strict = start_web(EXCHANGE_RATE_LIMIT_ORDERS="1", EXCHANGE_RATE_LIMIT_ORDERS_WINDOW_S="60")
    hasty = venue_for(user, url=strict.url, enableRateLimit=False)
    hasty.create_order("BTC/USD", "limit", "buy", 0.001, 20000)
    with pytest.raises(ccxt.RateLimitExceeded):
        hasty.create_order("BTC/USD", "limit", "buy", 0.001, 20000)

    # A web process that cannot reach its database answers 503: ExchangeNotAvailable.
    broken = start_web(DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere", DATABASE_POOL_TIMEOUT="0.5")
    stranded = venue_for(user, url=broken.url)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        stranded.fetch_balance()


def test_precision_follows_the_market_tick_and_lot(make_user, venue_for, assets, start_matcher, ledger_clean):
    """A tick of 0.05 and a lot of 0.01 are not decimal places: ccxt's TICK_SIZE mode rounds to
    multiples of them, and the venue accepts exactly what the helpers produce."""
    from exchange.markets.services import market_create

    market_create(base=assets["ETH"], quote=assets["USD"], tick_size="0.05", lot_size="0.01", min_notional="5",
                  min_quantity="0.02", max_quantity="1000", maker_fee="0", taker_fee="0.001")
    start_matcher("ETH-USD")
    venue = venue_for(make_user("alice", USD="100000", ETH="10"))
    eth = venue.load_markets(reload=True)["ETH/USD"]
    assert (D(eth["precision"]["price"]), D(eth["precision"]["amount"])) == (D("0.05"), D("0.01"))
    assert (D(eth["limits"]["amount"]["min"]), D(eth["limits"]["cost"]["min"])) == (D("0.02"), D("5"))

    assert venue.price_to_precision("ETH/USD", 2000.07) == "2000.05"  # rounded to the nearest tick
    assert venue.price_to_precision("ETH/USD", 2000.08) == "2000.1"
    assert venue.amount_to_precision("ETH/USD", 1.23456) == "1.23"  # truncated to the lot
    with pytest.raises(ccxt.InvalidOrder):
        venue.amount_to_precision("ETH/USD", 0.004)  # below one lot: ccxt refuses before sending

    order = venue.create_order("ETH/USD", "limit", "buy", 1.23456, 2000.07)
    assert (order["symbol"], D(order["price"]), D(order["amount"])) == ("ETH/USD", D("2000.05"), D("1.23"))
    assert order["info"]["price"] == "2000.05"
    assert order["info"]["quantity"] == "1.23"
    ask = venue.create_order("ETH/USD", "limit", "sell", 0.5, 2100.12, {"triggerPrice": 2150.03})
    assert (D(ask["price"]), D(ask["triggerPrice"])) == (D("2100.1"), D("2150.05"))
    wait_status(venue, order["id"], "open")
    edited = venue.edit_order(order["id"], "ETH/USD", "limit", "buy", 1.009, 1999.99)  # sent as 1 at 2000
    assert edited["id"] == order["id"]
    wait_until(lambda: D(venue.fetch_order(order["id"])["price"]) == D("2000"), timeout=30, message="the amend")
    amended = venue.fetch_order(order["id"])
    assert (amended["symbol"], D(amended["amount"]), amended["info"]["price"]) == ("ETH/USD", D("1"), "2000")
    venue.cancel_all_orders("ETH/USD")
    wait_until(lambda: venue.fetch_open_orders("ETH/USD") == [], timeout=30, message="the cancels")
    ledger_clean()
