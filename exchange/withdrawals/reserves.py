"""Proof of reserves, per asset of a network: what the chain holds (the hot wallets and the
deposit addresses, all read at ONE block) against what the ledger owes users.

The ledger owes users their balances, available and held: held includes every withdrawal not
yet confirmed. A withdrawal whose transaction is already mined at the block read (the signer has
seen its receipt but not yet its confirmations) has left the chain but not yet the ledger, so its
amount is taken off the liabilities. A short asset gets a ``short`` report, which stops its
withdrawals (the API refuses new ones, the signer signs none) until a check finds it covered.
"""
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum

from exchange.chain.adapters.base import ChainAdapter
from exchange.chain.models import ChainAsset, Deposit, DepositAddress
from exchange.chain.units import from_base_units
from exchange.ledger.models import AccountKind, Balance, Withdrawal, WithdrawalStatus
from exchange.withdrawals.models import ReserveReport, SignerAccount


@dataclass(frozen=True)
class ReserveLine:
    asset: str
    height: int
    on_chain: Decimal
    liabilities: Decimal

    @property
    def short(self) -> bool:
        return self.on_chain < self.liabilities

    @property
    def surplus(self) -> Decimal:
        return self.on_chain - self.liabilities


def _mined_by(adapter: ChainAdapter, withdrawal: Withdrawal, height: int) -> bool:
    """Whether one of the withdrawal's transactions succeeded in a block at or below ``height``."""
    for tx in withdrawal.transactions.all():
        receipt = adapter.receipt(tx.txid)
        if receipt is not None:
            return receipt.success and receipt.block_number <= height
    return False


def liabilities(chain: ChainAsset, height: int, adapter: ChainAdapter) -> Decimal:
    """What the ledger owes users in ``chain``'s asset, as the chain at ``height`` should show it:
    less the withdrawals already mined by then (they left the chain, not yet the ledger), less the
    deposits credited from blocks after it (the ledger has them, the chain at ``height`` not)."""
    owed = (Balance.objects.filter(account__kind=AccountKind.USER, asset_id=chain.asset_id)
            .aggregate(s=Sum(F("available") + F("held")))["s"] or Decimal(0))
    in_flight = Withdrawal.objects.filter(asset_id=chain.asset_id, network=chain.network,
                                          status__in=[WithdrawalStatus.SIGNED, WithdrawalStatus.BROADCAST])
    gone = sum((w.amount for w in in_flight.prefetch_related("transactions") if _mined_by(adapter, w, height)),
               Decimal(0))
    later = (Deposit.objects.filter(chain_asset=chain, credited=True, block_number__gt=height)
             .aggregate(s=Sum("amount"))["s"] or Decimal(0))
    return owed - gone - later


def reserves_check(*, network: str, adapter: ChainAdapter, record: bool = True) -> list[ReserveLine]:
    """Read every address's balances at one block, compare per asset, and (``record``) store
    the reports that decide whether withdrawals go on."""
    height = adapter.latest_height()
    addresses = set(SignerAccount.objects.filter(network=network).values_list("address", flat=True))
    addresses |= set(DepositAddress.objects.filter(network=network).values_list("address", flat=True))
    lines = []
    for chain in ChainAsset.objects.filter(network=network).select_related("asset"):
        token = chain.contract_address or None
        held = sum(adapter.balance(a, token=token, height=height) for a in sorted(addresses))
        lines.append(ReserveLine(asset=chain.asset.symbol, height=height,
                                 on_chain=from_base_units(held, chain.chain_decimals),
                                 liabilities=liabilities(chain, height, adapter)))
    if record:
        assets = {c.asset.symbol: c.asset_id for c in ChainAsset.objects.filter(network=network).select_related("asset")}
        with transaction.atomic():
            ReserveReport.objects.bulk_create([
                ReserveReport(network=network, asset_id=assets[line.asset], height=line.height, on_chain=line.on_chain,
                              liabilities=line.liabilities, short=line.short) for line in lines])
    return lines


def reserves_report_text(lines: list[ReserveLine]) -> str:
    rows = [f"{'asset':<8} {'on chain':>28} {'owed to users':>28} {'surplus':>28}  status"]
    for line in lines:
        rows.append(f"{line.asset:<8} {line.on_chain.normalize():>28f} {line.liabilities.normalize():>28f} "
                    f"{line.surplus.normalize():>28f}  {'SHORT: withdrawals stopped' if line.short else 'covered'}")
    return "\n".join(rows)
