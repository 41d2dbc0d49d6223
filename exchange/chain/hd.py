"""Watch-only HD deposit addresses: BIP-32/44 public derivation from an account-level xpub.

The web tier derives addresses from the xpub (``m/44'/60'/0'``) alone: ``…/0/index`` on the
external chain, no private key anywhere near it. bip_utils is imported at module level and this
module is imported by exchange/asgi.py at start-up, so the first request pays nothing for it.
"""
from functools import lru_cache

from bip_utils import Bip44, Bip44Changes, Bip44Coins, Bip44Levels

from exchange.errors import ExchangeError

COINS = {"ethereum": Bip44Coins.ETHEREUM}


@lru_cache(maxsize=8)
def _account(xpub: str, network: str) -> Bip44:
    try:
        account = Bip44.FromExtendedKey(xpub, COINS[network])
    except KeyError:
        raise ExchangeError("unknown_network", f"no HD derivation for {network}") from None
    except Exception as exc:  # bip_utils raises several types for a malformed key
        raise ExchangeError("deposits_unavailable", f"the deposit xpub is not valid: {exc}", status=409) from None
    if account.Level() != Bip44Levels.ACCOUNT:
        raise ExchangeError("deposits_unavailable", "the deposit xpub must be an account-level key (m/44'/60'/0')",
                            status=409)
    if not account.IsPublicOnly():
        raise ExchangeError("deposits_unavailable", "the deposit key must be an xpub, not a private key", status=409)
    return account


def derive_address(xpub: str, index: int, *, network: str = "ethereum") -> str:
    """The checksummed address at ``…/0/index`` of the account ``xpub``."""
    if not xpub:
        raise ExchangeError("deposits_unavailable", "deposits are not configured (no deposit xpub)", status=409)
    if not 0 <= index < 2**31:
        raise ValueError(f"derivation index out of range: {index}")
    return _account(xpub, network).Change(Bip44Changes.CHAIN_EXT).AddressIndex(index).PublicKey().ToAddress()
