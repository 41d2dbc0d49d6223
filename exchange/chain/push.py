"""Deposit updates to their owner's private WebSocket (``/ws/user/``, group ``user.{id}``, through the
web processes' hubs: ``infra/pubsub.py``).

Sent after the watcher's transaction commits, so nobody sees a state that was rolled back. The
frames carry no per-user sequence (that numbers the matcher's order/fill/balance stream); the
page refreshes its balances over REST when a deposit is credited. A push that fails (Redis away)
is logged and dropped: the deposit itself is durable and the page shows it on reload.
"""
import logging

from django.db import transaction

from exchange.chain.messages import deposit_message
from exchange.chain.models import Deposit
from exchange.infra.pubsub import hub_publish, user_group
from exchange.infra.redis_clients import redis_client

log = logging.getLogger("exchange.chain")


def deposits_push_after_commit(deposits: list[Deposit]) -> None:
    if not deposits:
        return
    frames: dict[int, list[dict]] = {}
    for deposit in deposits:
        frames.setdefault(deposit.user_id, []).append({"type": "deposit", "deposit": deposit_message(deposit)})
    transaction.on_commit(lambda: _send(frames))


def _send(frames: dict[int, list[dict]]) -> None:
    try:
        hub_publish(redis_client(), [(user_group(user_id), {"type": "user.events", "events": events})
                                     for user_id, events in frames.items()])
    except Exception as exc:  # Redis away: the push is best-effort, the deposit is durable
        log.warning("deposit push failed (%s); clients see it on their next load", exc)
