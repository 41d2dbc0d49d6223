"""The receive window is measured from when a request reached the venue, not from when a busy
process got round to checking it: a signed order that waited inside the venue (a full budget, an
empty pool, a database restart) is not refused as stale for our delay (issue 15's fault drill)."""
import asyncio
import time

import pytest

from exchange.accounts.services import api_key_create
from exchange.api.keys import api_key_verify
from exchange.api.signing import signature
from exchange.errors import ExchangeError
from exchange.infra.shedding import RECEIVED_AT, FrontDoor, request_received_at

pytestmark = pytest.mark.django_db(transaction=True)


def verify(api_key, secret: str, timestamp: str, received_at: float | None):
    return api_key_verify(key=api_key.key, timestamp=timestamp, sent=signature(secret, timestamp, "GET", "/api/v1/balances", b""),
                          method="GET", path_with_query="/api/v1/balances", body=b"", client_ip="127.0.0.1",
                          received_at=received_at)


def test_a_request_that_arrived_inside_the_window_is_judged_by_its_arrival(make_user, redis_url, settings):
    settings.EXCHANGE_API_RECV_WINDOW_MS = 5000
    api_key, secret = api_key_create(user=make_user(), scopes=["read"])
    signed_at = time.time() - 8  # signed 8 s ago, reached us 1 s after it was signed
    timestamp = str(int(signed_at * 1000))
    with pytest.raises(ExchangeError) as refused:
        verify(api_key, secret, timestamp, received_at=None)
    assert refused.value.code == "stale_timestamp"
    assert verify(api_key, secret, timestamp, received_at=signed_at + 1).pk == api_key.pk
    # Arrival does not widen the window: a request that was already old when it arrived stays stale.
    old = str(int((time.time() - 20) * 1000))
    with pytest.raises(ExchangeError) as refused:
        verify(api_key, secret, old, received_at=time.time() - 10)
    assert refused.value.code == "stale_timestamp"


def test_the_front_door_stamps_arrival_where_a_client_cannot_write():
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    door = FrontDoor(app, max_orders=1, max_requests=1, queue_ms=20, retry_after=1)
    spoofed = [(b"x-exchange-received-at", b"1")]
    before = time.time()
    asyncio.run(door({"type": "http", "method": "GET", "path": "/api/v1/time", "headers": spoofed}, None, None))
    assert before <= seen[RECEIVED_AT] <= time.time()
    assert request_received_at({"asgi.scope": seen, "HTTP_X_EXCHANGE_RECEIVED_AT": "1"}) == seen[RECEIVED_AT]
    assert request_received_at({"HTTP_X_EXCHANGE_RECEIVED_AT": "1"}) is None
