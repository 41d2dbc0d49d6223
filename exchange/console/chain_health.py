"""Chain health for the dashboard and the chain page, from what the chain processes record
(the web tier never talks to a node itself):

- **node**: the watcher's last poll (``WatcherCursor.updated_at``, ``node_height``): a poll older
  than ``EXCHANGE_CHAIN_STALE_SECONDS`` means the node (or the watcher) is not answering;
- **watcher lag**: blocks between the node's height and the last block scanned;
- **signer**: each hot wallet's heartbeat age and what the signer last reported (e.g. waiting for
  funds); older than the same limit: down;
- **reserves**: the latest check of each asset; a short asset's withdrawals are stopped.
"""
from django.conf import settings
from django.utils import timezone

from exchange.chain.models import ChainAsset, WatcherCursor
from exchange.withdrawals.models import SignerAccount
from exchange.withdrawals.selectors import reserve_latest

OK, WARN, RED = "ok", "warn", "red"


def _age(moment) -> float | None:
    return None if moment is None else round((timezone.now() - moment).total_seconds(), 1)


def chain_health() -> list[dict]:
    """One entry per network with chain assets."""
    stale = float(settings.EXCHANGE_CHAIN_STALE_SECONDS)
    networks = sorted(set(ChainAsset.objects.values_list("network", flat=True)))
    out = []
    for network in networks:
        cursor = WatcherCursor.objects.filter(network=network).first()
        watcher_age = _age(cursor.updated_at) if cursor else None
        node_height = cursor.node_height if cursor else None
        lag = node_height - cursor.height if cursor and node_height is not None else None
        signers = [{"address": s.address, "next_nonce": s.next_nonce, "heartbeat_age": _age(s.heartbeat_at),
                    "state": s.state, "alive": s.heartbeat_at is not None and _age(s.heartbeat_at) <= stale}
                   for s in SignerAccount.objects.filter(network=network).order_by("address")]
        reserves = []
        for chain in ChainAsset.objects.filter(network=network).select_related("asset"):
            report = reserve_latest(chain.asset)
            reserves.append({"asset": chain.asset.symbol, "report": report, "short": bool(report and report.short)})
        problems = []
        if watcher_age is None or watcher_age > stale:
            problems.append("node or watcher not answering" if cursor else "watcher never ran")
        if lag is not None and lag > settings.EXCHANGE_CHAIN_LAG_MAX_BLOCKS:
            problems.append(f"watcher {lag} blocks behind")
        if not any(s["alive"] for s in signers):
            problems.append("no withdrawal signer alive")
        short = [r["asset"] for r in reserves if r["short"]]
        if short:
            problems.append(f"reserves short: {', '.join(short)} withdrawals stopped")
        level = RED if short or (watcher_age is None or watcher_age > stale) else (WARN if problems else OK)
        out.append({"network": network, "node_reachable": watcher_age is not None and watcher_age <= stale,
                    "node_height": node_height, "watcher_height": cursor.height if cursor else None, "lag": lag,
                    "watcher_age": watcher_age, "signers": signers, "reserves": reserves, "problems": problems,
                    "level": level})
    return out
