"""``GET /api/v1/deposit-address`` and ``GET /api/v1/deposits``: shapes, paging, and 4xx errors."""
import pytest

from exchange.chain.adapters.base import NATIVE_INDEX, Transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain_assets(db):
    from exchange.chain.services import ethereum_assets_configure

    eth, usdt = ethereum_assets_configure(usdt_contract="0x" + "AB" * 20, confirmations=3)
    return {"ETH": eth, "USDT": usdt}


def test_one_checksummed_address_per_user_and_network_stable_across_calls(client, make_user, chain_assets):
    from eth_utils import is_checksum_address

    alice, bob = make_user(), make_user()
    client.force_login(alice)
    first = client.get("/api/v1/deposit-address?asset=eth").json()
    assert first["asset"] == "ETH"
    assert first["network"] == "ethereum"
    assert is_checksum_address(first["address"])
    assert client.get("/api/v1/deposit-address?asset=USDT").json() == {**first, "asset": "USDT"}
    assert client.get("/api/v1/deposit-address?asset=ETH").json() == first
    client.force_login(bob)
    assert client.get("/api/v1/deposit-address?asset=ETH").json()["address"] != first["address"]


@pytest.mark.parametrize(("query", "status", "code"), [
    ("", 400, "invalid_asset"), ("?asset=DOGE", 404, "unknown_asset"), ("?asset=USD", 400, "not_on_chain"),
    ("?asset=%00", 400, None),
])
def test_bad_deposit_address_requests_get_the_error_shape(client, make_user, chain_assets, query, status, code):
    from exchange.markets.services import asset_get_or_create

    asset_get_or_create(symbol="USD", name="US dollar", decimals=8)
    client.force_login(make_user())
    response = client.get(f"/api/v1/deposit-address{query}")
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message"}
    if code:
        assert response.json()["error"]["code"] == code


def test_without_a_deposit_xpub_the_address_is_unavailable_not_a_500(client, make_user, chain_assets, settings):
    settings.ETH_DEPOSIT_XPUB = ""
    client.force_login(make_user())
    response = client.get("/api/v1/deposit-address?asset=ETH")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "deposits_unavailable")


def test_deposit_endpoints_need_a_signed_in_user_or_the_read_scope(client, make_user, chain_assets, redis_url):
    from exchange.accounts.services import api_key_create
    from tests.api.conftest import Signed

    def signed(user, scopes):
        api_key, secret = api_key_create(user=user, scopes=list(scopes))
        return Signed(client, api_key.key, secret)

    assert client.get("/api/v1/deposits").status_code == 401
    assert client.get("/api/v1/deposit-address?asset=ETH").status_code == 401
    trade_only = signed(make_user(), scopes=("trade",))
    response = trade_only.call("GET", "/api/v1/deposit-address?asset=ETH")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "missing_scope")
    reader = signed(make_user(), scopes=("read",))
    assert reader.call("GET", "/api/v1/deposit-address?asset=ETH").status_code == 200


def test_deposits_are_listed_newest_first_a_page_at_a_time(client, make_user, chain_assets, settings):
    from exchange.chain.deposits import deposit_address_get, deposit_record

    user, other = make_user(), make_user()
    for owner in (user, other):
        address = deposit_address_get(user=owner, network="ethereum", xpub=settings.ETH_DEPOSIT_XPUB)
        for n in range(3):
            deposit_record(network="ethereum", chain_asset=chain_assets["ETH"], user_id=owner.pk, transfer=Transfer(
                txid=f"0x{owner.pk:04x}{n:060x}", index=NATIVE_INDEX, block_number=10 + n, block_hash="0xaa",
                to_address=address.address, from_address=None, token=None, amount=(n + 1) * 10**16))
    client.force_login(user)
    page = client.get("/api/v1/deposits?limit=2").json()
    assert [d["amount"] for d in page["results"]] == ["0.03", "0.02"]
    assert set(page["results"][0]) == {"id", "asset", "network", "amount", "txid", "confirmations",
                                       "required_confirmations", "status", "created_at"}
    assert page["results"][0]["status"] == "pending"
    assert page["results"][0]["required_confirmations"] == 3
    rest = client.get(page["next"]).json()
    assert [d["amount"] for d in rest["results"]] == ["0.01"]
    assert rest["next"] is None
    assert client.get("/api/v1/deposits?limit=0").status_code == 400
