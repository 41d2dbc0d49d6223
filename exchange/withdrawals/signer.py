"""The withdrawal signer: the one process that holds the hot-wallet key of a network.

Each pass, in this order:
1. **rebroadcast** every ``signed`` withdrawal's recorded bytes (a crash may have come between
   recording and sending); the node answers "already known" for bytes it has, which is fine;
2. **track** every ``broadcast`` withdrawal: a receipt of any of its transactions (the original
   or a fee bump: they share a nonce, so at most one is mined) with the asset's confirmations
   makes it ``confirmed`` (status 1) or ``failed`` with the hold released (status 0); one not mined
   after ``EXCHANGE_SIGNER_BUMP_AFTER_SECONDS`` is signed again at a higher price (same nonce);
3. **sign** ``approved`` withdrawals, oldest first, unless the asset's reserves are short or the
   hot wallet cannot pay it: the nonce comes from the signer's own counter (``SignerAccount``),
   and the signed bytes, the nonce and the counter's advance commit in one transaction BEFORE
   anything is broadcast. So a nonce is never given twice, and a crash never makes the signer
   sign a withdrawal again: what was recorded is sent again, what was not was never sent.
"""
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exchange.chain.adapters.base import ChainAdapter, NodeUnavailable
from exchange.chain.models import ChainAsset
from exchange.chain.units import from_base_units, to_base_units
from exchange.ledger import services as ledger
from exchange.ledger.models import Withdrawal, WithdrawalStatus
from exchange.withdrawals.evm import NATIVE_GAS, sign_transfer
from exchange.withdrawals.models import SignedTransaction, SignerAccount
from exchange.withdrawals.selectors import asset_suspended

log = logging.getLogger("exchange.signer")
# What a node says when it already has the bytes, or a replacement of them, or has mined the nonce.
_HARMLESS = ("already known", "known transaction", "nonce too low", "replacement transaction underpriced",
             "already imported")


@dataclass
class SignerConfig:
    network: str
    chain_id: int
    token_gas: int
    bump_after: timedelta
    bump_percent: int
    max_gas_price: int

    @classmethod
    def from_settings(cls, network: str, chain_id: int) -> "SignerConfig":
        return cls(network=network, chain_id=chain_id, token_gas=settings.EXCHANGE_SIGNER_TOKEN_GAS,
                   bump_after=timedelta(seconds=settings.EXCHANGE_SIGNER_BUMP_AFTER_SECONDS),
                   bump_percent=settings.EXCHANGE_SIGNER_BUMP_PERCENT,
                   max_gas_price=int(Decimal(settings.EXCHANGE_SIGNER_MAX_GAS_PRICE_GWEI) * 10**9))


class Signer:
    def __init__(self, *, adapter: ChainAdapter, account, config: SignerConfig) -> None:
        self.adapter = adapter
        self.account = account  # an eth_account LocalAccount: the key never leaves this object
        self.config = config
        self.address = account.address
        self.state = ""

    # ------------------------------------------------------------------ the pass

    def step(self) -> None:
        self._ensure_account()
        for withdrawal in self._in(WithdrawalStatus.SIGNED):
            self._rebroadcast(withdrawal)
        height = self.adapter.latest_height()
        for withdrawal in self._in(WithdrawalStatus.BROADCAST):
            self._track(withdrawal, height)
        for withdrawal in self._in(WithdrawalStatus.APPROVED):
            if not self._sign(withdrawal):
                break  # keep the queue in order: an older one waiting for funds is not overtaken
        self.heartbeat()

    def heartbeat(self) -> None:
        SignerAccount.objects.filter(network=self.config.network, address=self.address).update(
            heartbeat_at=timezone.now(), state=self.state[:255])

    def _in(self, status: str) -> list[Withdrawal]:
        return list(Withdrawal.objects.filter(network=self.config.network, status=status)
                    .select_related("asset").order_by("id"))

    def _ensure_account(self) -> None:
        if not SignerAccount.objects.filter(network=self.config.network, address=self.address).exists():
            SignerAccount.objects.get_or_create(network=self.config.network, address=self.address,
                                                defaults={"next_nonce": self.adapter.nonce(self.address, pending=False)})

    # ------------------------------------------------------------------ sending

    def _send(self, tx: SignedTransaction) -> None:
        try:
            self.adapter.send_raw_transaction(bytes.fromhex(tx.raw.removeprefix("0x")))
        except NodeUnavailable:
            raise
        except Exception as exc:  # the node's refusal (web3 raises several types for them)
            text = str(exc).lower()
            if not any(h in text for h in _HARMLESS):
                log.warning("signer: node refused %s (nonce %s): %s", tx.txid, tx.nonce, exc)
                return
        SignedTransaction.objects.filter(pk=tx.pk, broadcast_at__isnull=True).update(broadcast_at=timezone.now())

    def _rebroadcast(self, withdrawal: Withdrawal) -> None:
        tx = withdrawal.transactions.order_by("-id").first()
        self._send(tx)
        with transaction.atomic():
            current = ledger.withdrawal_lock(withdrawal.pk)
            if current.status == WithdrawalStatus.SIGNED:
                ledger.withdrawal_advance(withdrawal_id=withdrawal.pk, status=WithdrawalStatus.BROADCAST)

    # ------------------------------------------------------------------ tracking

    def _track(self, withdrawal: Withdrawal, height: int) -> None:
        attempts = list(withdrawal.transactions.order_by("-id"))
        receipt = None
        for tx in attempts:
            receipt = self.adapter.receipt(tx.txid)
            if receipt is not None:
                break
        if receipt is None:
            if withdrawal.block_number is not None:  # its block left the chain: wait again
                Withdrawal.objects.filter(pk=withdrawal.pk).update(block_number=None)
            self._maybe_bump(withdrawal, attempts[0])
            return
        if withdrawal.block_number != receipt.block_number or withdrawal.txid != receipt.txid:
            Withdrawal.objects.filter(pk=withdrawal.pk).update(block_number=receipt.block_number, txid=receipt.txid)
        needed = ChainAsset.objects.get(asset=withdrawal.asset).confirmations
        if height - receipt.block_number + 1 < needed:
            return
        with transaction.atomic():
            current = ledger.withdrawal_lock(withdrawal.pk)
            if current.status != WithdrawalStatus.BROADCAST:
                return
            if receipt.success:
                ledger.withdrawal_complete(withdrawal_id=withdrawal.pk, txid=receipt.txid,
                                           block_number=receipt.block_number)
                log.info("signer: withdrawal %s confirmed in block %s (%s)", withdrawal.pk, receipt.block_number,
                         receipt.txid)
            else:
                ledger.withdrawal_release(withdrawal_id=withdrawal.pk, status=WithdrawalStatus.FAILED,
                                          reason=f"the transaction {receipt.txid} reverted (status 0)")
                Withdrawal.objects.filter(pk=withdrawal.pk).update(txid=receipt.txid, block_number=receipt.block_number)
                log.warning("signer: withdrawal %s failed on chain (%s)", withdrawal.pk, receipt.txid)

    def _maybe_bump(self, withdrawal: Withdrawal, latest: SignedTransaction) -> None:
        if timezone.now() - latest.created_at < self.config.bump_after:
            if latest.broadcast_at is None:
                self._send(latest)
            return
        price = max(int(latest.gas_price) * (100 + self.config.bump_percent) // 100 + 1, self.adapter.gas_price())
        if price > self.config.max_gas_price:
            self.state = f"withdrawal {withdrawal.pk} stuck: its next price would pass the maximum"
            return
        tx = self._record(withdrawal, nonce=int(latest.nonce), gas_price=price, advance=None)
        log.info("signer: withdrawal %s not mined after %s: replaced by %s at %s wei/gas", withdrawal.pk,
                 self.config.bump_after, tx.txid, price)
        self._send(tx)

    # ------------------------------------------------------------------ signing

    def _amount_base(self, withdrawal: Withdrawal, chain: ChainAsset) -> int:
        return to_base_units(withdrawal.amount, chain.chain_decimals)

    def _sign(self, withdrawal: Withdrawal) -> bool:
        chain = ChainAsset.objects.select_related("asset").get(asset=withdrawal.asset)
        if asset_suspended(withdrawal.asset):
            self.state = f"{withdrawal.asset.symbol} withdrawals stopped: reserves short"
            return True
        price = min(self.adapter.gas_price(), self.config.max_gas_price)
        shortfall = self._cannot_pay(withdrawal, chain, price)
        if shortfall:
            self.state = f"withdrawal {withdrawal.pk} waits: {shortfall}"
            log.warning("signer: %s", self.state)
            return False
        with transaction.atomic():
            current = ledger.withdrawal_lock(withdrawal.pk)
            if current.status != WithdrawalStatus.APPROVED:
                return True
            counter = SignerAccount.objects.select_for_update().get(network=self.config.network, address=self.address)
            # Never below what the chain has mined (someone else may have used the key), never
            # below what this signer has given (its own signed, unmined transactions).
            nonce = max(counter.next_nonce, self.adapter.nonce(self.address, pending=False))
            tx = self._record(current, nonce=nonce, gas_price=price, advance=counter)
        self._send(tx)
        with transaction.atomic():
            if ledger.withdrawal_lock(withdrawal.pk).status == WithdrawalStatus.SIGNED:
                ledger.withdrawal_advance(withdrawal_id=withdrawal.pk, status=WithdrawalStatus.BROADCAST)
        self.state = ""
        return True

    @transaction.atomic
    def _record(self, withdrawal: Withdrawal, *, nonce: int, gas_price: int,
                advance: SignerAccount | None) -> SignedTransaction:
        """Sign and record (the bytes first, then the status and the counter), all in one commit."""
        chain = ChainAsset.objects.get(asset=withdrawal.asset)
        signed = sign_transfer(self.account, chain_id=self.config.chain_id, nonce=nonce, to=withdrawal.address,
                               amount=self._amount_base(withdrawal, chain), gas_price=gas_price,
                               token=chain.contract_address or None, token_gas=self.config.token_gas)
        tx = SignedTransaction.objects.create(withdrawal=withdrawal, network=self.config.network, sender=self.address,
                                              nonce=nonce, txid=signed.txid, raw=signed.raw, gas_price=gas_price)
        if advance is not None:
            ledger.withdrawal_advance(withdrawal_id=withdrawal.pk, status=WithdrawalStatus.SIGNED, nonce=nonce,
                                      sender=self.address, txid=signed.txid)
            advance.next_nonce = nonce + 1
            advance.save(update_fields=["next_nonce"])
        else:
            Withdrawal.objects.filter(pk=withdrawal.pk).update(txid=signed.txid)
        return tx

    def _cannot_pay(self, withdrawal: Withdrawal, chain: ChainAsset, price: int) -> str:
        """Why the hot wallet cannot pay this withdrawal now (after what is already on its way),
        or "" when it can."""
        in_flight = list(Withdrawal.objects.filter(network=self.config.network, block_number__isnull=True,
                                                   status__in=[WithdrawalStatus.SIGNED, WithdrawalStatus.BROADCAST])
                         .select_related("asset"))
        gas_each = NATIVE_GAS if not chain.contract_address else self.config.token_gas
        native_needed = gas_each * price + len(in_flight) * self.config.token_gas * price
        token_needed = self._amount_base(withdrawal, chain)
        for other in in_flight:
            if other.asset_id == withdrawal.asset_id:
                token_needed += self._amount_base(other, chain)
        if not chain.contract_address:
            native_needed += token_needed
        else:
            have = self.adapter.balance(self.address, token=chain.contract_address)
            if have < token_needed:
                return (f"the hot wallet holds {from_base_units(have, chain.chain_decimals)} {chain.asset.symbol}, "
                        f"needs {from_base_units(token_needed, chain.chain_decimals)}")
        have_native = self.adapter.balance(self.address)
        if have_native < native_needed:
            return f"the hot wallet holds {from_base_units(have_native, 18)} of the native coin, needs " \
                   f"{from_base_units(native_needed, 18)} (amounts and gas)"
        return ""


def run_forever(signer: Signer, *, poll: float, stop=lambda: False, reserves=None) -> None:
    """Run passes until ``stop()``; node, PostgreSQL and Redis outages back off (1 s doubling to
    30 s) and never end the process."""
    from django.db import DatabaseError, close_old_connections, connection

    delay = 1.0
    while not stop():
        try:
            close_old_connections()
            signer.step()
            if reserves is not None:
                reserves()
            delay = 1.0
            time.sleep(poll)
        except (NodeUnavailable, DatabaseError, OSError) as exc:
            log.warning("signer: %s unavailable (%s); retrying in %.0f s", type(exc).__name__, exc, delay)
            with contextlib.suppress(DatabaseError):
                connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
