"""Signed order entry pays one Redis round trip before its orders are placed, not four (issue 15).

Each signed ``POST /orders`` or ``/orders/batch`` used to make four: the per-address count, the
replay guard's SET NX (in authentication), then the account and the order counts (one per
throttle). Under load those sync round trips, redis-py's CPU and the waits, were most of the entry
door's time. They go in one pipeline, sent where DRF checks throttles: authentication verifies
everything but the replay (``defer_replay``) and leaves its guard on the request, and
``SignedEntryApi.check_throttles`` queues it with the throttles' counts and, on the short way
(``trading/entry_door.py``), the address's count, which the door leaves on the request
(``PendingAddressCount``). The address count must also count requests refused before the
throttles (a bad signature): the door counts those after the view, and answers an address over
its limit with its 429 whatever the view said, as when it counted first. The long way counts the
address first, in a trip of its own (``IpRateLimitMiddleware``).

What moves for these requests: the replay guard now comes after the view's scope check, so a
replayed request whose key lacks the scope gets 403 ``missing_scope`` instead of 401
``replayed_request``; and as the guard and the counts travel together, a refused replay counts
against the account and order limits as any other request does. Without Redis the request is
refused 503 ``unavailable``, as the guard always was (the limits alone would fail open).
"""
import redis
from rest_framework.views import APIView

from exchange.api.authentication import ApiKeyError
from exchange.api.keys import ReplayGuard, replay_unverifiable
from exchange.api.throttling import PendingAddressCount, window_waits
from exchange.errors import ExchangeError
from exchange.infra.redis_clients import redis_client


class SignedEntryApi(APIView):
    """A view whose signed POSTs send the replay guard and their rate-limit counts in one Redis
    round trip; any other request (a session's, a GET, a DELETE) is checked as in every view."""

    # The API key's authentication leaves a POST's replay guard to ``check_throttles`` below.
    replay_deferred_for = frozenset({"POST"})

    def check_throttles(self, request) -> None:
        guard: ReplayGuard | None = getattr(request, "replay_guard", None)
        if guard is None:
            super().check_throttles(request)
            return
        windows = [window for throttle in self.get_throttles()
                   if (window := throttle.window(request, self)) is not None]
        # The door's address count, when it left it to this trip (exchange/trading/entry_door.py).
        address: PendingAddressCount | None = getattr(request, "address_count", None)
        if address is not None and address.counted:
            address = None
        counted = ([address.window] if address is not None else []) + windows
        try:
            # No MULTI/EXEC: each command is atomic on its own, and the two wrapping commands cost
            # a fifth of the round trip's CPU in redis-py.
            pipe = redis_client().pipeline(transaction=False)
            guard.queue(pipe)
            for window in counted:
                window.count(pipe)
            fresh, *replies = pipe.execute()
        except redis.RedisError:
            raise ApiKeyError.of(replay_unverifiable()) from None
        waits = window_waits(counted, replies)
        if address is not None:
            address.counted, address.wait = True, waits.pop(0)
            if address.wait is not None:
                self.throttled(request, address.wait)  # the door answers it as the address's 429
        try:
            guard.judge(fresh)
        except ExchangeError as exc:
            raise ApiKeyError.of(exc) from None
        over = [wait for wait in waits if wait is not None]
        if over:
            self.throttled(request, max(over))
