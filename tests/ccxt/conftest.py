"""A live venue for the ccxt driver's tests: a real Daphne (``start_web``) and a real matcher
(``start_matcher``) on the test database and Redis, and ``exchange_ccxt.Venue`` instances signed
with real API keys. Nothing of the venue is mocked: the driver meets it over HTTP, as a bot would."""
from decimal import Decimal

import pytest
from exchange_ccxt import Venue

from tests.conftest import wait_until

# Keys are made for these scopes unless a test asks for fewer.
SCOPES = ("read", "trade")


@pytest.fixture
def live(market, start_web, start_matcher):
    """The venue's URL, with BTC-USD (tick 0.01, lot 0.0001, min notional 10) matched."""
    start_matcher("BTC-USD")
    return start_web().url


@pytest.fixture
def venue_for(live, redis_url):
    """``venue_for(user, scopes=..., url=..., **config)``: a ``Venue`` signed with a new key of
    ``user``, pointed at the live venue (or at ``url``)."""
    from exchange.accounts.services import api_key_create

    def make(user, *, scopes: tuple[str, ...] = SCOPES, url: str | None = None, **config) -> Venue:
        api_key, secret = api_key_create(user=user, scopes=list(scopes))
        return Venue({"apiKey": api_key.key, "secret": secret, "urls": {"api": url or live}, **config})

    return make


def wait_status(venue: Venue, order_id: str, *statuses: str) -> dict:
    """The order once the matcher has put it in one of ``statuses`` (venue words)."""
    seen: list[dict] = []

    def reached() -> dict | None:
        seen[:] = [venue.fetch_order(order_id)]
        return seen[0] if seen[0]["info"]["status"] in statuses else None

    try:
        return wait_until(reached, timeout=30, interval=0.2, message=f"order {order_id} to be {'/'.join(statuses)}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen: {seen[0]['info'] if seen else None}") from None


def D(value: object) -> Decimal:
    """A unified-structure number as the exact decimal it stands for (ccxt hands out floats)."""
    return Decimal(str(value))
