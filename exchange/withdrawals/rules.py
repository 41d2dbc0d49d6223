"""What a withdrawal of an asset must respect: its network (if any), its minimum, its fee,
its four-eyes threshold, and the shape of a destination address on its network.

Assets with a ``chain.ChainAsset`` row go out through the signer; any other asset (USD, BTC
until a UTXO adapter exists) keeps the admin-completed flow with no fee and no minimum.
"""
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from exchange.errors import ExchangeError
from exchange.markets.models import Asset

_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class WithdrawalRules:
    network: str  # "" off chain
    decimals: int
    min_amount: Decimal
    fee: Decimal
    four_eyes_threshold: Decimal | None  # None: the console's settings decide


def rules_for(asset: Asset) -> WithdrawalRules:
    from exchange.chain.models import ChainAsset

    chain = ChainAsset.objects.filter(asset=asset).first()
    if chain is None:
        return WithdrawalRules(network="", decimals=asset.decimals, min_amount=Decimal(0), fee=Decimal(0),
                               four_eyes_threshold=None)
    return WithdrawalRules(network=chain.network, decimals=min(asset.decimals, chain.chain_decimals),
                           min_amount=chain.min_withdrawal, fee=chain.withdrawal_fee,
                           four_eyes_threshold=chain.four_eyes_threshold)


def address_normalise(network: str, address: object) -> str:
    """The destination as the network writes it, or ``invalid_address`` (400). On Ethereum the
    address must carry a valid EIP-55 checksum (all-lowercase or all-uppercase hex has none and
    is refused too: a typo there would send funds nowhere)."""
    text = str(address or "").strip()
    if not text or len(text) > 128:
        raise ExchangeError("invalid_address", "a withdrawal needs a destination address")
    if network == "ethereum":
        from eth_utils import is_checksum_address

        if not _HEX_ADDRESS.match(text):
            raise ExchangeError("invalid_address", "an Ethereum address is 0x and 40 hex digits")
        if not is_checksum_address(text):
            raise ExchangeError("invalid_address", "the address's EIP-55 checksum is wrong (a typo?)")
        if int(text, 16) == 0:
            raise ExchangeError("invalid_address", "the zero address burns funds")
    return text


def allow_list_delay_hours() -> float:
    return float(settings.EXCHANGE_ALLOW_LIST_DELAY_HOURS)
