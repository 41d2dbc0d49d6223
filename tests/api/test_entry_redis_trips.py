"""Signed order entry's Redis round trips (issue 15): before an order is placed, ONE pipeline with the
replay guard and the address, account and order counts, instead of four separate trips (the long
way, Django's middleware, still counts the address in a trip of its own first). What the trips guard still
holds: a replay is refused, a batch counts each of its orders, and without Redis nothing is placed."""
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from redis.connection import AbstractConnection

from exchange.accounts.models import ApiKey
from exchange.accounts.services import api_key_create
from exchange.trading.models import Order
from tests.api.door import ORDER, Caller, through_door

pytestmark = pytest.mark.django_db(transaction=True)
# A window no test outlives: the fixed-window bucket cannot roll over between two requests.
FOREVER = 10**9


def _commands(packed) -> list[tuple[bytes, ...]]:
    """The commands in what redis-py wrote to the socket (RESP arrays of bulk strings)."""
    data = b"".join(bytes(chunk) for chunk in ([packed] if isinstance(packed, (bytes, str)) else packed))
    commands, at = [], 0
    while at < len(data):
        assert data[at:at + 1] == b"*", data[at:at + 40]
        end = data.index(b"\r\n", at)
        count, at = int(data[at + 1:end]), end + 2
        args = []
        for _ in range(count):
            assert data[at:at + 1] == b"$", data[at:at + 40]
            end = data.index(b"\r\n", at)
            size = int(data[at + 1:end])
            args.append(data[end + 2:end + 2 + size])
            at = end + 2 + size + 2
        commands.append(tuple(args))
    return commands


@contextmanager
def redis_trips() -> Iterator[list[list[tuple[bytes, ...]]]]:
    """Every exchange with Redis this process makes through redis-py while inside, one list of
    commands per round trip. Every sync command, alone or pipelined, a connection's handshake and
    its health-check PING, leaves through ``AbstractConnection.send_packed_command``, once per
    trip: a pipeline writes all its commands in one call and then reads the replies."""
    trips: list[list[tuple[bytes, ...]]] = []
    lock = threading.Lock()
    original = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        with lock:
            trips.append(_commands(command))
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counted
    try:
        yield trips
    finally:
        AbstractConnection.send_packed_command = original


def before_placement(trips: list[list[tuple[bytes, ...]]]) -> list[list[tuple]]:
    """The trips before the first XADD of a place command (sent once the orders are committed),
    less a connection's health-check PING (one per connection every 10 s, not per order)."""
    placed = next((i for i, trip in enumerate(trips) if trip[0][0] == b"XADD"), len(trips))
    assert placed < len(trips), trips  # the order's place commands were seen: the count saw the traffic
    return [trip for trip in trips[:placed] if trip != [(b"PING",)]]


def shape(trip: list[tuple]) -> list[tuple]:
    """A trip's commands, each as its name, its key's prefix (up to the bucket) and its count."""
    out = []
    for command in trip:
        name = command[0].decode()
        key = command[1].decode().rsplit(":", 1)[0] if len(command) > 1 else None
        out.append((name, key, *(command[2:3] if name == "INCRBY" else ())))
    return out


@pytest.fixture
def trader(market, make_user, redis_url):
    """A trading key's ``Caller``, after one order: the connection, the key cache and the key's
    first address (a SADD, once per process) are warm."""
    user = make_user("alice", USD="100000")
    key, secret = api_key_create(user=user, scopes=["read", "trade"])
    caller = Caller(key.key, secret)
    assert caller.short("/api/v1/orders", json.dumps(ORDER).encode())[0] == 201
    caller.user = user
    return caller


@pytest.mark.parametrize(("path", "orders"), [("/api/v1/orders", 1), ("/api/v1/orders/batch", 3)])
@pytest.mark.parametrize("way", ["short", "long"])
def test_a_signed_order_costs_one_round_trip_before_it_is_placed(trader, path, orders, way):
    """The short way (the ASGI door every signed order takes in production) sends the address
    count with the rest; the long way (Django's middleware) still counts the address first."""
    body = json.dumps(ORDER if orders == 1 else {"orders": [ORDER] * orders}).encode()
    placed_before = Order.objects.count()
    with redis_trips() as trips:
        response = getattr(trader, way)(path, body)
    status = response[0] if way == "short" else response.status_code
    assert status == (201 if orders == 1 else 200)
    assert Order.objects.count() == placed_before + orders
    user = trader.user.pk
    api_key = ApiKey.objects.get(key=trader.key).pk
    address = [("INCRBY", "rl:ip:127.0.0.1", b"1"), ("EXPIRE", "rl:ip:127.0.0.1")]
    limits = [("INCRBY", f"rl:account:key:{api_key}", b"1"), ("EXPIRE", f"rl:account:key:{api_key}"),
              ("INCRBY", f"rl:orders:user:{user}", str(orders).encode()), ("EXPIRE", f"rl:orders:user:{user}")]
    guard = ("SET", f"apisig:{trader.key}")
    expected = [[guard, *address, *limits]] if way == "short" else [address, [guard, *limits]]
    assert [shape(trip) for trip in before_placement(trips)] == expected
    replay_guard = before_placement(trips)[-1][0]
    assert replay_guard[3:5] == (b"NX", b"PX"), replay_guard


@pytest.mark.parametrize("signed", ["well", "badly"])
@pytest.mark.parametrize("way", ["short", "long"])
def test_an_address_over_its_limit_is_refused_before_anything_is_placed(trader, settings, way, signed):
    """Counted with the view's trip or counted first, an address over its limit gets the same 429
    (its own error, ``Retry-After``), however the request was signed, and no order is placed; a
    request refused for its signature still counts against its address."""
    settings.EXCHANGE_RATE_LIMITS = {"ip": (2, FOREVER), "account": (10**9, FOREVER), "orders": (10**9, FOREVER)}
    body = json.dumps(ORDER).encode()
    options = {} if signed == "well" else {"secret": "not-the-secret"}
    placed_before = Order.objects.count()
    answers = []
    for _ in range(3):
        response = getattr(trader, way)("/api/v1/orders", body, **options)
        if way == "short":
            status, headers, text = response
        else:
            status, headers, text = response.status_code, {k.lower(): v for k, v in response.items()}, response.content
        answers.append((status, json.loads(text).get("error"), headers.get("retry-after")))
    first = (201, None, None) if signed == "well" else (401, {"code": "invalid_signature",
                                                              "message": "the signature does not match the request"}, None)
    assert answers[:2] == [first, first]
    status, error, retry_after = answers[2]
    assert (status, error) == (429, {"code": "rate_limited", "message": "too many requests from this address"})
    assert int(retry_after) >= 1
    assert Order.objects.count() == placed_before + (2 if signed == "well" else 0)


def test_other_signed_requests_keep_their_own_replay_round_trip(trader):
    """A GET (and a DELETE, the WebSocket's ``auth``) checks the replay in authentication, as before."""
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v
               for k, v in trader.headers("GET", "/api/v1/orders", b"").items()}
    with redis_trips() as trips:
        first = trader.client.get("/api/v1/orders", **headers)
    again = trader.client.get("/api/v1/orders", **headers)
    assert (first.status_code, again.status_code) == (200, 401)
    assert again.json()["error"]["code"] == "replayed_request"
    assert [[command[0] for command in trip] for trip in trips if trip != [(b"PING",)]] == [
        [b"INCRBY", b"EXPIRE"], [b"SET"], [b"INCRBY", b"EXPIRE"]]


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/orders/batch"])
def test_a_replayed_signature_is_refused(trader, path):
    body = json.dumps(ORDER if path.endswith("orders") else {"orders": [ORDER, ORDER]}).encode()
    headers = trader.headers("POST", path, body)
    placed_before = Order.objects.count()
    first = through_door(trader.door, "POST", path, body, dict(headers))
    again = through_door(trader.door, "POST", path, body, dict(headers))
    long_way = trader.client.generic("POST", path, data=body, content_type="application/json",
                                     **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    assert first[0] in (200, 201)
    assert (again[0], json.loads(again[2])["error"]["code"]) == (401, "replayed_request")
    assert (long_way.status_code, long_way.json()["error"]["code"]) == (401, "replayed_request")
    assert Order.objects.count() == placed_before + (1 if path.endswith("orders") else 2)


def test_a_signature_refused_for_its_scope_was_not_yet_used(market, make_user, redis_url):
    """The order views check the replay with the rate limits, after the key's scope: a read-only
    key's order is refused 403 ``missing_scope`` however often it is sent (it used to be 401
    ``replayed_request`` from the second time on)."""
    key, secret = api_key_create(user=make_user("bob", USD="100000"), scopes=["read"])
    caller = Caller(key.key, secret)
    body = json.dumps(ORDER).encode()
    headers = caller.headers("POST", "/api/v1/orders", body)
    answers = [through_door(caller.door, "POST", "/api/v1/orders", body, dict(headers)) for _ in range(2)]
    assert [(status, json.loads(text)["error"]["code"]) for status, _, text in answers] == [(403, "missing_scope")] * 2
    assert not Order.objects.exists()


def test_a_batch_counts_each_of_its_orders_against_the_order_limit(trader, settings):
    settings.EXCHANGE_RATE_LIMITS = {"ip": (10**9, FOREVER), "account": (10**9, FOREVER), "orders": (5, FOREVER)}
    placed_before = Order.objects.count()
    batch = json.dumps({"orders": [ORDER] * 3}).encode()
    first = trader.short("/api/v1/orders/batch", batch)
    second = trader.short("/api/v1/orders/batch", batch)  # 6 orders in 2 requests: over the limit of 5
    alone = trader.short("/api/v1/orders", json.dumps(ORDER).encode())
    assert [r["status"] for r in json.loads(first[2])["results"]] == [201] * 3
    for status, headers, body in (second, alone):
        assert (status, json.loads(body)["error"]["code"]) == (429, "rate_limited")
        assert int(headers["retry-after"]) >= 1
    assert Order.objects.count() == placed_before + 3


def test_the_account_limit_still_applies(trader, settings):
    settings.EXCHANGE_RATE_LIMITS = {"ip": (10**9, FOREVER), "account": (2, FOREVER), "orders": (10**9, FOREVER)}
    statuses = [trader.short("/api/v1/orders", json.dumps(ORDER).encode())[0] for _ in range(3)]
    assert statuses == [201, 201, 429]


@pytest.mark.parametrize("path", ["/api/v1/orders", "/api/v1/orders/batch"])
def test_without_redis_a_signed_order_is_refused_503(trader, settings, path):
    """The rate limits fail open, the replay guard does not: nothing is placed."""
    placed_before = Order.objects.count()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    body = json.dumps(ORDER if path.endswith("orders") else {"orders": [ORDER]}).encode()
    status, headers, text = trader.short(path, body)
    assert (status, json.loads(text)["error"]["code"]) == (503, "unavailable")
    assert headers["retry-after"] == "1"
    assert Order.objects.count() == placed_before
