"""The private stream ``/ws/user/``: a user's own orders, fills and balances, with a per-user
sequence; signed in by session cookie or an API-key ``auth`` message; nobody else's."""
import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from tests.conftest import wait_until
from tests.marketdata.conftest import all_applied, communicator, receive

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def auth_message(api_key, secret: str, **extra) -> dict:
    from exchange.marketdata.auth import ws_signature

    timestamp = str(int(time.time() * 1000))
    return {"type": "auth", "key": api_key.key, "timestamp": timestamp, "signature": ws_signature(secret, timestamp),
            **extra}


async def collect(comm, until, timeout: float = 20.0) -> list[dict]:
    frames: list[dict] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while not until(frames):
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"timed out; got {frames}"
        frames.append(await receive(comm, remaining))
    return frames


def test_each_user_sees_only_their_own_orders_fills_and_balances(market, make_user, start_matcher, redis_url):
    from exchange.accounts.services import api_key_create
    from exchange.trading.services import order_cancel, order_place

    alice = make_user("alice", BTC="2")
    bob = make_user("bob", USD="100000")
    carol = make_user("carol", USD="100000")
    bob_key, bob_secret = api_key_create(user=bob, scopes=["read"])
    start_matcher("BTC-USD")
    alice_cookie = session_cookie(alice)

    async def scenario():
        alice_ws = communicator("/ws/user/", alice_cookie)
        bob_ws = communicator("/ws/user/")
        assert (await alice_ws.connect())[0]
        assert (await bob_ws.connect())[0]
        hello = await receive(alice_ws)
        assert hello["type"] == "subscribed"
        assert hello["user_id"] == alice.pk
        assert hello["via"] == "session"
        await bob_ws.send_json_to(auth_message(bob_key, bob_secret))
        hello = await receive(bob_ws)
        assert hello["type"] == "subscribed"
        assert hello["user_id"] == bob.pk
        assert hello["via"] == "api_key"

        def applied(call, **kwargs):
            # One command per matcher batch, so that each order event is its own message.
            result = call(**kwargs)
            wait_until(lambda: all_applied([result.pk]), message="the command applied")
            return result

        run = sync_to_async(applied, thread_sensitive=False)
        sell = await run(order_place, user=alice, market="BTC-USD", side="sell", price="30000", quantity="0.5")
        carol_order = await run(order_place, user=carol, market="BTC-USD", side="buy", price="20000", quantity="0.1")
        buy = await run(order_place, user=bob, market="BTC-USD", side="buy", price="30000", quantity="0.2")
        await run(order_cancel, user=alice, order_id=sell.pk)

        def seen(frames, order_id, event):
            return any(f["type"] == "order" and f["order"]["id"] == order_id and f["event"] == event for f in frames)

        alice_frames = await collect(alice_ws, lambda fs: seen(fs, sell.pk, "cancelled"))
        bob_frames = await collect(bob_ws, lambda fs: seen(fs, buy.pk, "filled")
                                   and any(f["type"] == "balance" for f in fs))
        for comm, frames in ((alice_ws, alice_frames), (bob_ws, bob_frames)):
            while not await comm.receive_nothing(0.5):  # the rest of the last batch's frames
                frames.append(await comm.receive_json_from())
        await alice_ws.disconnect()
        await bob_ws.disconnect()
        return alice_frames, bob_frames, (sell, buy, carol_order)

    alice_frames, bob_frames, (sell, buy, carol_order) = asyncio.run(scenario())

    # A per-user sequence with no holes, starting from 1.
    for frames in (alice_frames, bob_frames):
        assert [f["sequence"] for f in frames] == list(range(1, len(frames) + 1))
    alice_orders = {f["order"]["id"] for f in alice_frames if f["type"] == "order"}
    bob_orders = {f["order"]["id"] for f in bob_frames if f["type"] == "order"}
    assert alice_orders == {sell.pk}
    assert bob_orders == {buy.pk}
    assert carol_order.pk not in alice_orders | bob_orders
    events = [f["event"] for f in alice_frames if f["type"] == "order"]
    assert events == ["accepted", "partially_filled", "cancelled"]
    cancelled = [f for f in alice_frames if f["type"] == "order"][-1]["order"]
    assert cancelled["cancel_reason"] == "cancelled_by_user"
    assert cancelled["filled_quantity"] == "0.2"
    assert cancelled["remaining"] == "0"
    (alice_fill,) = [f["fill"] for f in alice_frames if f["type"] == "fill"]
    (bob_fill,) = [f["fill"] for f in bob_frames if f["type"] == "fill"]
    assert alice_fill["trade_id"] == bob_fill["trade_id"]
    assert (alice_fill["order_id"], alice_fill["side"], alice_fill["liquidity"], alice_fill["fee"]) == (
        sell.pk, "sell", "maker", "6")
    assert (bob_fill["order_id"], bob_fill["side"], bob_fill["liquidity"], bob_fill["fee"], bob_fill["fee_asset"]) == (
        buy.pk, "buy", "taker", "0.0004", "BTC")
    bob_balances = {b["asset"]: b for f in bob_frames if f["type"] == "balance" for b in f["balances"]}
    assert bob_balances["BTC"]["available"] == "0.1996"
    assert bob_balances["USD"] == {"asset": "USD", "available": "94000", "held": "0", "total": "94000"}
    alice_balances = {b["asset"]: b for f in alice_frames if f["type"] == "balance" for b in f["balances"]}
    assert alice_balances["BTC"]["available"] == "1.8"
    assert alice_balances["BTC"]["held"] == "0"
    assert alice_balances["USD"]["available"] == "5994"


def test_a_resting_order_sends_the_balance_with_its_hold(market, make_user, start_matcher, redis_url):
    """No fill and no release: the hold taken at entry is the only change, and the owner's
    stream shows it with the order's ``accepted``."""
    from exchange.trading.services import order_place

    carol = make_user("carol", USD="100000")
    start_matcher("BTC-USD")
    cookie = session_cookie(carol)

    async def scenario():
        ws = communicator("/ws/user/", cookie)
        assert (await ws.connect())[0]
        assert (await receive(ws))["type"] == "subscribed"
        order = await sync_to_async(order_place, thread_sensitive=False)(
            user=carol, market="BTC-USD", side="buy", price="20000", quantity="0.1")
        frames = await collect(ws, lambda fs: any(f["type"] == "balance" for f in fs))
        await ws.disconnect()
        return order, frames

    order, frames = asyncio.run(scenario())
    kinds = [(f["type"], f.get("event")) for f in frames]
    assert kinds == [("order", "accepted"), ("balance", None)], kinds
    assert frames[0]["order"]["id"] == order.pk
    usd = {b["asset"]: b for b in frames[1]["balances"]}["USD"]
    assert usd == {"asset": "USD", "available": "98000", "held": "2000", "total": "100000"}


async def _refused(comm, send: dict | None = None) -> tuple[dict, int]:
    connected, _ = await comm.connect()
    assert connected
    if send is not None:
        await comm.send_json_to(send)
    error = await receive(comm, 8)
    if error["type"] == "subscribed":  # signed in by the session: the refusal comes next
        error = await receive(comm, 8)
    closed = await comm.receive_output(2)
    assert closed["type"] == "websocket.close"
    return error, closed["code"]


def test_anonymous_and_foreign_subscriptions_are_refused(market, make_user, redis_url, monkeypatch):
    from exchange.accounts.services import api_key_create
    from exchange.marketdata import consumers

    alice = make_user("alice")
    bob = make_user("bob")
    bob_key, bob_secret = api_key_create(user=bob, scopes=["read"])
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT", 0.5)
    alice_cookie = session_cookie(alice)

    async def scenario():
        results = {}
        # Anonymous: asking for a stream, or saying nothing, ends with 4401.
        results["anonymous"] = await _refused(communicator("/ws/user/"), {"type": "subscribe", "user_id": alice.pk})
        results["silent"] = await _refused(communicator("/ws/user/"))
        # A valid key for bob cannot name alice's stream, in the auth message or after it.
        results["foreign_auth"] = await _refused(communicator("/ws/user/"),
                                                 auth_message(bob_key, bob_secret, user_id=alice.pk))
        comm = communicator("/ws/user/")
        await comm.connect()
        await comm.send_json_to(auth_message(bob_key, bob_secret))
        assert (await receive(comm))["user_id"] == bob.pk
        await comm.send_json_to({"type": "subscribe", "user_id": alice.pk})
        error = await receive(comm)
        results["foreign_subscribe"] = (error, (await comm.receive_output(2))["code"])
        # Alice's session cannot name bob's stream either.
        results["foreign_session"] = await _refused(communicator("/ws/user/", alice_cookie),
                                                    {"type": "subscribe", "user_id": bob.pk})
        # Bad signatures, replays and unknown keys.
        bad = auth_message(bob_key, "not-the-secret")
        results["bad_signature"] = await _refused(communicator("/ws/user/"), bad)
        good = auth_message(bob_key, bob_secret)
        ok = communicator("/ws/user/")
        await ok.connect()
        await ok.send_json_to(good)
        assert (await receive(ok))["type"] == "subscribed"
        await ok.disconnect()
        results["replayed"] = await _refused(communicator("/ws/user/"), good)
        stale = auth_message(bob_key, bob_secret)
        stale["timestamp"] = str(int(stale["timestamp"]) - 60_000)
        results["stale"] = await _refused(communicator("/ws/user/"), stale)
        return results

    results = asyncio.run(scenario())
    codes = {name: (error["code"], close) for name, (error, close) in results.items()}
    assert codes == {
        "anonymous": ("not_authenticated", 4401),
        "silent": ("not_authenticated", 4401),
        "foreign_auth": ("forbidden", 4403),
        "foreign_subscribe": ("forbidden", 4403),
        "foreign_session": ("forbidden", 4403),
        "bad_signature": ("invalid_signature", 4401),
        "replayed": ("replayed_request", 4401),
        "stale": ("stale_timestamp", 4401),
    }


def test_frames_are_built_only_for_users_with_a_socket_open(market, make_user, start_matcher, redis_url):
    """Accounts that never listen (programs on REST) cost the fan-out nothing: no frames, no
    sequence. A user who opens a socket is counted before joining and gets what follows; the
    count goes back down when the socket closes."""
    import redis

    from exchange.marketdata.groups import user_listeners_key, user_sequence_key
    from exchange.trading.services import order_place

    client = redis.Redis.from_url(redis_url)
    alice = make_user("alice", BTC="2")
    bob = make_user("bob", USD="100000")
    start_matcher("BTC-USD")
    first = order_place(user=alice, market="BTC-USD", side="sell", price="30000", quantity="0.5")
    wait_until(lambda: all_applied([first.pk]), message="the sell applied")
    bob_cookie = session_cookie(bob)

    async def scenario():
        bob_ws = communicator("/ws/user/", bob_cookie)
        assert (await bob_ws.connect())[0]
        hello = await receive(bob_ws)
        assert client.get(user_listeners_key(bob.pk)) == b"1"
        buy = await sync_to_async(order_place, thread_sensitive=False)(
            user=bob, market="BTC-USD", side="buy", price="30000", quantity="0.2")
        frames = await collect(bob_ws, lambda fs: any(f["type"] == "balance" for f in fs))
        await bob_ws.disconnect()
        return hello, buy, frames

    hello, buy, frames = asyncio.run(scenario())
    assert hello["sequence"] == 0
    assert [f["sequence"] for f in frames] == list(range(1, len(frames) + 1))
    assert any(f["type"] == "fill" and f["fill"]["order_id"] == buy.pk for f in frames)
    wait_until(lambda: client.get(user_listeners_key(bob.pk)) == b"0", message="the socket uncounted")
    # Alice traded twice (her order placed, then filled) but never listened: nothing was built for her.
    assert client.get(user_sequence_key(alice.pk)) is None
