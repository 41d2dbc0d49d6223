"""Roles: traders get 403 on every console page and action; compliance reads markets, users,
fees and the audit log and changes nothing but users' KYC levels; anonymous visitors are sent to
log in. A refused action leaves no trace: no change and no audit entry."""
import pytest

from exchange.audit.models import AuditEntry
from exchange.trading.models import Command
from tests.console.conftest import verified_login

READ_PAGES = ["/console/", "/console/health.json", "/console/markets/", "/console/markets/BTC-USD/", "/console/users/",
              "/console/users/{user}/", "/console/fees/", "/console/audit/", "/console/audit.csv"]
ADMIN_ONLY_PAGES = ["/console/funds/"]
ACTIONS = [
    ("/console/assets/new", {"symbol": "SOL", "name": "Solana", "decimals": "9"}),
    ("/console/markets/new", {"base": "ETH", "quote": "USD", "tick_size": "0.01", "lot_size": "0.001"}),
    ("/console/markets/BTC-USD/rules", {"min_notional": "20"}),
    ("/console/markets/BTC-USD/status", {"status": "halted"}),
    ("/console/markets/BTC-USD/cancel-all", {}),
    ("/console/users/{user}/freeze", {}),
    ("/console/users/{user}/unfreeze", {}),
    ("/console/users/{user}/api-keys/{key}/revoke", {}),
    ("/console/funds/deposit", {"username": "{username}", "asset": "USD", "amount": "5", "reference": "tx-1"}),
    ("/console/funds/adjust", {"username": "{username}", "asset": "USD", "amount": "5"}),
    ("/console/funds/withdrawals/{withdrawal}/approve", {}),
    ("/console/funds/withdrawals/{withdrawal}/reject", {}),
    ("/console/funds/approvals/{approval}/approve", {}),
    ("/console/funds/approvals/{approval}/reject", {}),
    ("/console/fees/tiers", {"quote": "USD", "min_volume": "1000", "maker_fee": "0", "taker_fee": "0.001"}),
    ("/console/fees/tiers/{tier}/delete", {}),
]


KYC_ACTION = ("/console/users/{user}/kyc", {"level": "2"})


@pytest.fixture
def world(market, make_user, admin, admin2):
    from exchange.accounts.models import Profile
    from exchange.accounts.services import api_key_create
    from exchange.console.services import fees, funds
    from exchange.ledger.services import withdrawal_request
    from exchange.markets.models import Asset

    user = make_user("erin", USD="100000")
    Profile.objects.filter(user=user).update(kyc_level=1)
    key, _ = api_key_create(user=user, scopes=["read", "trade"])
    usd = Asset.objects.get(symbol="USD")
    withdrawal = withdrawal_request(user=user, asset=usd, amount="10", address="bank:DE00")
    approval = funds.balance_adjust(actor=admin2, ip=None, user=user, asset=usd, amount="99999", reason="big fix")
    tier = fees.fee_tier_create(actor=admin2, ip=None, quote=usd, min_volume="5000", maker_fee="0.0005",
                                taker_fee="0.001", reason="tiers")
    return {"user": user.pk, "username": user.username, "key": key.pk, "withdrawal": withdrawal.pk,
            "approval": approval.pk, "tier": tier.pk}


def _fill(template: str, world: dict) -> str:
    return template.format(**world)


@pytest.mark.parametrize("page", READ_PAGES + ADMIN_ONLY_PAGES)
def test_traders_get_403_on_every_page(page, world, trader_client):
    assert trader_client.get(_fill(page, world)).status_code == 403


REFUSED = [("trader", *action) for action in [*ACTIONS, KYC_ACTION]] + [("compliance", *action) for action in ACTIONS]


@pytest.mark.parametrize(("role", "url", "data"), REFUSED)
def test_actions_are_403_without_the_admin_role_and_change_nothing(role, url, data, world, request):
    client = request.getfixturevalue(f"{role}_client")
    audit_before = AuditEntry.objects.count()
    commands_before = Command.objects.count()
    payload = {k: _fill(v, world) for k, v in data.items()} | {"reason": "trying"}
    assert client.post(_fill(url, world), payload).status_code == 403
    assert AuditEntry.objects.count() == audit_before
    assert Command.objects.count() == commands_before


@pytest.mark.parametrize("page", READ_PAGES)
def test_compliance_reads_markets_users_fees_and_audit(page, world, compliance_client):
    response = compliance_client.get(_fill(page, world))
    assert response.status_code == 200
    if page.endswith("/") and response.get("content-type", "").startswith("text/html"):
        assert b"Change status" not in response.content
        assert b"Freeze" not in response.content


def test_compliance_cannot_open_funds(world, compliance_client):
    assert compliance_client.get("/console/funds/").status_code == 403


@pytest.mark.parametrize("page", ["/console/", "/console/markets/", "/console/users/"])
def test_anonymous_visitors_are_sent_to_log_in(page, client, db):
    response = client.get(page)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_writes_need_a_post_with_csrf(world, admin):
    from django.test import Client

    client = verified_login(Client(enforce_csrf_checks=True), admin)
    assert client.post("/console/markets/BTC-USD/status", {"status": "halted", "reason": "x"}).status_code == 403
    assert not Command.objects.exists()
    assert client.get("/console/markets/BTC-USD/status").status_code == 405
