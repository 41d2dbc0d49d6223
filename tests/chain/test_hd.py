"""Watch-only derivation from an xpub, against the BIP-44 vector of "abandon ... about"."""
import pytest

from exchange.chain.hd import derive_address
from exchange.errors import ExchangeError

MNEMONIC = "abandon " * 11 + "about"
# m/44'/60'/0' of the mnemonic above (public); the wallets' well-known first address at …/0/0.
XPUB = ("xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsB"
        "ngh5GFZaM6si3yZdUsT8ddYM3PwnATt")


def test_the_first_address_is_the_bip44_vector():
    assert derive_address(XPUB, 0) == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"


def test_public_derivation_matches_the_private_keys_of_the_mnemonic():
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    for index in (1, 2, 19):
        expected = Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").address
        assert derive_address(XPUB, index) == expected


def test_the_xpub_in_settings_is_the_vectors_in_development(settings):
    assert settings.ETH_DEPOSIT_XPUB == XPUB


@pytest.mark.parametrize(("xpub", "why"), [
    ("", "not configured"),
    ("xpub-not-a-key", "not valid"),
    # The master key (depth 0) is no BIP-44 key at all.
    ("xpub661MyMwAqRbcFkPHucMnrGNzDwb6teAX1RbKQmqtEF8kK3Z7LZ59qafCjB9eCRLiTVG3uxBxgKvRgbubRhqSKXnGGb1aoaqLrpMBDrVxga8",
     "not valid"),
    # m/44'/60'/0'/0 (the change level): addresses would derive one level too deep.
    ("xpub6EF8jXqFeFEW5bwMU7RpQtHkzE4KJxcqJtvkCjJumzW8CPpacXkb92ek4WzLQXjL93HycJwTPUAcuNxCqFPKKU5m5Z2Vq4nCyh5CyPeBFFr",
     "account-level"),
    # The account's private key: the web tier must never hold one.
    ("xprv9zDSoJv1aBcjX6sNgEpE2J9K6MV2MUnXuqXsFgzVn3zY2aHyupaFQdYCtdCbNMkvcTdx9FeN49sgXw6mjrhrFLRSzJVnRYPfSCCgjeg4GxY",
     "not a private key"),
])
def test_a_missing_or_wrong_xpub_is_refused_clearly(xpub, why):
    with pytest.raises(ExchangeError, match=why) as raised:
        derive_address(xpub, 0)
    assert raised.value.code == "deposits_unavailable"
