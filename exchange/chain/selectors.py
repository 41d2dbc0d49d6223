"""Reads of chain state for the API, the web pages and the console (no web3 here)."""
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from exchange.chain.models import ChainAsset, Deposit
from exchange.markets.models import Asset


def asset_list_with_chain() -> QuerySet[Asset]:
    """Every asset, with its chain settings where it has any (``asset.chain``)."""
    return Asset.objects.select_related("chain").order_by("symbol")


def chain_asset_list(*, network: str | None = None) -> QuerySet[ChainAsset]:
    query = ChainAsset.objects.select_related("asset")
    return query.filter(network=network) if network else query


def chain_asset_by_symbol(symbol: str) -> ChainAsset | None:
    return ChainAsset.objects.select_related("asset").filter(asset__symbol=symbol.upper()).first()


def deposit_list(*, user: AbstractBaseUser) -> QuerySet[Deposit]:
    """The user's deposits, newest first."""
    return Deposit.objects.filter(user=user).select_related("chain_asset__asset").order_by("-id")
