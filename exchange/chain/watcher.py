"""The chain watcher's loop: follow the node block by block, record and credit deposits, and
undo what a reorganisation took away.

One step = read from the node (outside any transaction), then ONE database transaction that
records the transfers of a range of blocks, their hashes, the new height and every credit they
lead to. A kill -9 anywhere loses at most an uncommitted step, which the next start repeats from
the stored height (deposits are keyed by (network, txid, index) and credits by idempotency key,
so repeating a step changes nothing that was committed).

Reorgs: the hashes of the last ``KEEP_BLOCKS`` scanned blocks are kept. Before each step the
stored hash at the current height is compared with the node's; on a difference the watcher walks
back to the last height where they agree, orphans every deposit above it (reversing credits), and
rescans from there. Only one watcher per network works at a time: a PostgreSQL advisory lock,
checked before every step (a lost connection loses the lock; it is taken again before working).
"""
import contextlib
import logging
import threading

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from exchange.chain.adapters.base import ChainAdapter, NodeUnavailable, Transfer
from exchange.chain.deposits import deposit_record, deposits_confirm, deposits_orphan_above, users_by_address
from exchange.chain.models import ChainAsset, SeenBlock, TokenKind, WatcherCursor
from exchange.chain.push import deposits_push_after_commit

log = logging.getLogger("exchange.chain")
KEEP_BLOCKS = 256
LOCK_NAMESPACE = 0x4348  # pg_advisory_lock(namespace, hashtext(network)): "CH", the chain watchers
BACKOFF_MAX = 10.0


class ChainMoved(Exception):
    """The node's chain changed while a step read it: drop the step and start again."""


class ChainWatcher:
    def __init__(self, adapter: ChainAdapter, *, start_height: int = 0, batch_blocks: int = 50,
                 poll_seconds: float = 1.0) -> None:
        self.adapter = adapter
        self.network = adapter.network
        self.start_height = start_height
        self.batch_blocks = max(1, batch_blocks)
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self._told_no_assets = False

    # ------------------------------------------------------------------ the loop
    def run_forever(self) -> None:
        """Never exits on a lost node, database or Redis: logs, backs off (up to 10 s), retries."""
        failures = 0
        waiting_logged = False
        while not self.stopping.is_set():
            try:
                if not self.lock_held():
                    if not waiting_logged:
                        log.info("another watcher holds %s; waiting for its lock", self.network)
                        waiting_logged = True
                    self.stopping.wait(self.poll_seconds)
                    continue
                waiting_logged = False
                busy = self.step()
                if failures:
                    log.info("watcher %s working again", self.network)
                failures = 0
                if not busy:
                    self.stopping.wait(self.poll_seconds)
            except ChainMoved as exc:
                log.info("chain moved during a step (%s); again", exc)
            except NodeUnavailable as exc:
                failures += 1
                self._back_off(failures, f"node unavailable: {exc}")
            except (OperationalError, InterfaceError) as exc:
                failures += 1
                self._close_quietly()
                self._back_off(failures, f"database unavailable: {exc}")
            except Exception:
                failures += 1
                log.exception("watcher step failed")
                self._close_quietly()
                self._back_off(failures, "unexpected error")

    def _back_off(self, failures: int, why: str) -> None:
        delay = min(BACKOFF_MAX, 0.25 * 2 ** min(failures, 6))
        log.warning("%s; retrying in %.1f s", why, delay)
        self.stopping.wait(delay)

    @staticmethod
    def _close_quietly() -> None:
        with contextlib.suppress(DatabaseError):
            connection.close()

    def lock_held(self) -> bool:
        """Hold (taking it if free) this network's advisory lock on our session."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                           "AND pid = pg_backend_pid() AND classid = %s AND objid = hashtext(%s)::oid "
                           "AND objsubid = 2)", [LOCK_NAMESPACE, self.network])
            if cursor.fetchone()[0]:
                return True
            cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, self.network])
            return bool(cursor.fetchone()[0])

    # ------------------------------------------------------------------ one step
    def _cursor(self) -> WatcherCursor:
        cursor, _ = WatcherCursor.objects.get_or_create(network=self.network,
                                                        defaults={"height": self.start_height - 1})
        return cursor

    def step(self) -> bool:
        """Check for a reorg, then scan the next range. True when more blocks are waiting."""
        tip = self.adapter.latest_height()
        cursor = self._cursor()
        stored = dict(SeenBlock.objects.filter(network=self.network, height=cursor.height)
                      .values_list("height", "block_hash"))
        if cursor.height in stored and self.adapter.block_hash(cursor.height) != stored[cursor.height]:
            self._rewind(self._fork_height(cursor.height), tip=tip)
            return True
        low, high = cursor.height + 1, min(tip, cursor.height + self.batch_blocks)
        if high < low:
            if cursor.node_height != tip:
                WatcherCursor.objects.filter(pk=cursor.pk).update(node_height=tip)
            return False
        assets = {(a.contract_address.lower() if a.kind == TokenKind.ERC20 else None): a
                  for a in ChainAsset.objects.filter(network=self.network).select_related("asset")}
        if not assets:
            # Not set up yet (setup_dev_chain): scanning now would step over deposits for good.
            if not self._told_no_assets:
                log.warning("no chain assets on %s yet; waiting (run manage.py setup_dev_chain)", self.network)
                self._told_no_assets = True
            return False
        self._told_no_assets = False
        hashes = {h: self.adapter.block_hash(h) for h in range(low, high + 1)}
        owners = users_by_address(self.network)
        tokens = {t for t in assets if t}
        transfers = self.adapter.transfers_to(set(owners), from_height=low, to_height=high, tokens=tokens)
        moved = [t for t in transfers if hashes.get(t.block_number) != t.block_hash]
        if moved or None in hashes.values():
            raise ChainMoved(f"blocks {low}..{high} changed while read")
        if cursor.height in stored and self.adapter.block_hash(cursor.height) != stored[cursor.height]:
            raise ChainMoved(f"block {cursor.height} replaced while reading {low}..{high}")
        self._commit_range(cursor.height, high, tip, hashes, transfers, owners, assets)
        return high < tip

    def _commit_range(self, previous: int, high: int, tip: int, hashes: dict[int, str], transfers: list[Transfer],
                      owners: dict[str, int], assets: dict) -> None:
        with transaction.atomic():
            cursor = WatcherCursor.objects.select_for_update().get(network=self.network)
            if cursor.height != previous:
                raise ChainMoved(f"height moved from {previous} to {cursor.height} under us")
            changed = []
            for transfer in transfers:
                asset = assets.get(transfer.token.lower() if transfer.token else None)
                owner = owners.get(transfer.to_address.lower())
                if asset is None or owner is None:
                    continue
                deposit = deposit_record(network=self.network, transfer=transfer, chain_asset=asset, user_id=owner)
                if deposit is not None:
                    changed.append(deposit)
            SeenBlock.objects.bulk_create([SeenBlock(network=self.network, height=h, block_hash=v)
                                           for h, v in hashes.items()],
                                          update_conflicts=True, unique_fields=["network", "height"],
                                          update_fields=["block_hash"])
            SeenBlock.objects.filter(network=self.network, height__lte=high - KEEP_BLOCKS).delete()
            cursor.height, cursor.node_height = high, tip
            cursor.save(update_fields=["height", "node_height", "updated_at"])
            confirmed = deposits_confirm(network=self.network, height=high)
            deposits_push_after_commit(list({d.pk: d for d in changed + confirmed}.values()))

    # ------------------------------------------------------------------ reorganisations
    def _fork_height(self, height: int) -> int:
        """The highest stored height whose hash the node still has (below the kept window: the
        lowest kept height minus one, the deepest the watcher can see)."""
        rows = list(SeenBlock.objects.filter(network=self.network, height__lte=height)
                    .order_by("-height").values_list("height", "block_hash"))
        for stored_height, stored_hash in rows:
            if self.adapter.block_hash(stored_height) == stored_hash:
                return stored_height
        deepest = (rows[-1][0] - 1) if rows else height - 1
        log.error("reorg deeper than the %s kept blocks on %s: rescanning from %s", KEEP_BLOCKS, self.network, deepest)
        return deepest

    def _rewind(self, fork: int, *, tip: int) -> None:
        with transaction.atomic():
            cursor = WatcherCursor.objects.select_for_update().get(network=self.network)
            depth = cursor.height - fork
            SeenBlock.objects.filter(network=self.network, height__gt=fork).delete()
            changed = deposits_orphan_above(network=self.network, height=fork)
            cursor.height, cursor.node_height = fork, tip
            cursor.save(update_fields=["height", "node_height", "updated_at"])
            deposits_push_after_commit(changed)
        log.warning("reorg on %s: %s block(s) above %s replaced; %s deposit(s) orphaned", self.network, depth, fork,
                    len(changed))


def run_until_stopped(watcher: ChainWatcher) -> None:
    """The management command's body: SIGTERM/SIGINT end the loop after the current step."""
    import signal

    def stop(*_args) -> None:
        watcher.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("chain watcher for %s started", watcher.network)
    watcher.run_forever()
