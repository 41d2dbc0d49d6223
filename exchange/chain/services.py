"""Writes to the chain app's configuration (which assets live on which chain, with what rules) and
the use cases the web tier calls (a user's deposit address)."""
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from exchange.amounts import parse_decimal
from exchange.chain.deposits import deposit_address_get
from exchange.chain.models import ChainAsset, DepositAddress, Network, TokenKind
from exchange.chain.selectors import chain_asset_by_symbol
from exchange.errors import ExchangeError
from exchange.markets.models import Asset
from exchange.markets.services import asset_get_or_create

# The dev defaults of issue 16: minimum deposit and withdrawal 0.001 ETH / 1 USDT, four-eyes above
# 10 ETH / 10,000 USDT. The withdrawal fee covers the network's cost, roughly.
DEV_RULES = {
    "ETH": {"min_deposit": "0.001", "min_withdrawal": "0.001", "withdrawal_fee": "0.0005", "four_eyes_threshold": "10"},
    "USDT": {"min_deposit": "1", "min_withdrawal": "1", "withdrawal_fee": "1", "four_eyes_threshold": "10000"},
}


@transaction.atomic
def chain_asset_configure(*, symbol: str, name: str, network: str, kind: str, chain_decimals: int,
                          contract_address: str = "", confirmations: int, min_deposit: object, min_withdrawal: object,
                          withdrawal_fee: object, four_eyes_threshold: object) -> ChainAsset:
    """Create or update the chain settings of ``symbol`` (creating the asset itself if new, with the
    chain's decimals capped at the ledger's 18)."""
    if network not in Network.values or kind not in TokenKind.values:
        raise ExchangeError("invalid_chain_asset", f"unknown network {network!r} or kind {kind!r}")
    if (kind == TokenKind.ERC20) != bool(contract_address):
        raise ExchangeError("invalid_chain_asset", "a token needs a contract address, the native coin none")
    asset = asset_get_or_create(symbol=symbol, name=name, decimals=min(chain_decimals, 18))
    rules = {k: parse_decimal(v, field=k) for k, v in {"min_deposit": min_deposit, "min_withdrawal": min_withdrawal,
                                                        "withdrawal_fee": withdrawal_fee,
                                                        "four_eyes_threshold": four_eyes_threshold}.items()}
    if any(v < 0 for v in rules.values()):
        raise ExchangeError("invalid_chain_asset", "minimums, fee and threshold must not be negative")
    chain_asset, _ = ChainAsset.objects.update_or_create(
        asset=asset, defaults={"network": network, "kind": kind, "contract_address": contract_address,
                               "chain_decimals": chain_decimals, "confirmations": confirmations, **rules})
    return chain_asset


def ethereum_assets_configure(*, usdt_contract: str, confirmations: int) -> list[ChainAsset]:
    """ETH (native, 18 decimals) and USDT (ERC-20, 6 decimals) on ``ethereum``, with the dev rules
    for any asset that has none yet (an operator's later changes are kept)."""
    configured = []
    for symbol, name, kind, decimals, contract in (("ETH", "Ether", TokenKind.NATIVE, 18, ""),
                                                   ("USDT", "Tether USD", TokenKind.ERC20, 6, usdt_contract)):
        existing = ChainAsset.objects.filter(asset__symbol=symbol).first()
        rules = ({f: getattr(existing, f) for f in DEV_RULES[symbol]} if existing
                 else {f: Decimal(v) for f, v in DEV_RULES[symbol].items()})
        configured.append(chain_asset_configure(
            symbol=symbol, name=name, network=Network.ETHEREUM, kind=kind, chain_decimals=decimals,
            contract_address=contract, confirmations=confirmations, **rules))
    return configured


def deposit_xpub(network: str) -> str:
    """The watch-only xpub deposit addresses of ``network`` derive from (settings)."""
    return {"ethereum": settings.ETH_DEPOSIT_XPUB}.get(network, "")


def deposit_address_for_asset(*, user: AbstractBaseUser, symbol: str) -> tuple[ChainAsset, DepositAddress]:
    """The user's deposit address for ``symbol`` (one per network: ETH and USDT share it)."""
    chain_asset = chain_asset_by_symbol(symbol)
    if chain_asset is None:
        if Asset.objects.filter(symbol=symbol.upper()).exists():
            raise ExchangeError("not_on_chain", f"{symbol.upper()} has no deposits on a chain")
        raise ExchangeError("unknown_asset", "no such asset", status=404)
    address = deposit_address_get(user=user, network=chain_asset.network, xpub=deposit_xpub(chain_asset.network))
    return chain_asset, address
