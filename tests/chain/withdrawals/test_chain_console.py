"""The console's chain page and dashboard card: health from what the chain processes recorded,
deposits and withdrawals with filters, approve and reject (four eyes, audited), and the reviews
a deep reorg opened."""
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from tests.chain.withdrawals.conftest import RECIPIENT, balance
from tests.console.conftest import _client, _user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def admins(db):
    return _client(_user("c_admin_one", "admin")), _client(_user("c_admin_two", "admin"))


def _deposit(user, chain_asset, status: str, txid: str):
    from exchange.chain.models import Deposit

    return Deposit.objects.create(network="ethereum", txid=txid, log_index=-1, chain_asset=chain_asset, user=user,
                                  address=RECIPIENT, amount=D("1.5"), amount_base=15 * 10**17, block_number=7,
                                  confirmations=1, status=status)


def test_health_shows_node_watcher_signer_and_reserves(admins, chain_rules, trader):
    from exchange.chain.models import WatcherCursor
    from exchange.withdrawals.models import ReserveReport, SignerAccount

    WatcherCursor.objects.create(network="ethereum", height=95, node_height=100)
    SignerAccount.objects.create(network="ethereum", address=RECIPIENT, next_nonce=4, heartbeat_at=timezone.now(),
                                 state="withdrawal 9 waits: the hot wallet holds 0.1")
    ReserveReport.objects.create(network="ethereum", asset=chain_rules["ETH"].asset, height=100, on_chain=D(5),
                                 liabilities=D(20), short=True)
    page = admins[0].get("/console/chain/").content.decode()
    assert "reachable" in page
    assert "lag 5 blocks" in page
    assert "alive" in page
    assert "next nonce 4" in page
    assert "waits: the hot wallet holds 0.1" in page
    assert "SHORT: withdrawals stopped" in page
    assert "reserves short: ETH withdrawals stopped" in page
    SignerAccount.objects.update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    WatcherCursor.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    dashboard = admins[0].get("/console/").content.decode()
    assert "not answering" in dashboard
    assert "no withdrawal signer alive" in dashboard


def test_lists_filter_and_withdrawals_are_approved_and_rejected_from_them(admins, chain_rules, trader, ledger_clean):
    from exchange.audit.models import AuditEntry
    from exchange.withdrawals.services import withdrawal_create

    _deposit(trader, chain_rules["ETH"], "credited", "0x" + "aa" * 32)
    _deposit(trader, chain_rules["USDT"], "pending", "0x" + "bb" * 32)
    first = withdrawal_create(user=trader, asset="ETH", amount="1", address=RECIPIENT)
    second = withdrawal_create(user=trader, asset="USDT", amount="20", address=RECIPIENT)
    one, _two = admins
    page = one.get("/console/chain/?d_status=pending&w_asset=USDT").content.decode()
    assert "0xbbbbbbbbbbbbbbb" in page
    assert "0xaaaaaaaaaaaaaaa" not in page
    assert f"data-withdrawal=\"{second.pk}\"" in page
    assert f"data-withdrawal=\"{first.pk}\"" not in page
    assert one.post(f"/console/funds/withdrawals/{first.pk}/approve", {"reason": "checked"}).status_code == 302
    first.refresh_from_db()
    assert first.status == "approved"
    assert one.post(f"/console/funds/withdrawals/{first.pk}/reject", {"reason": "changed my mind"}).status_code == 302
    first.refresh_from_db()
    assert first.status == "rejected"
    assert balance(trader, "ETH") == (D(20), D(0))
    assert list(AuditEntry.objects.filter(object_id=str(first.pk), object_type="ledger.withdrawal")
                .order_by("id").values_list("action", flat=True)) == ["funds.withdrawal_approve",
                                                                      "funds.withdrawal_reject"]
    ledger_clean()


def test_a_reorg_review_is_shown_and_resolved_with_an_audit_entry(admins, chain_rules, trader):
    from exchange.audit.models import AuditEntry
    from exchange.chain.models import ReorgReview

    deposit = _deposit(trader, chain_rules["ETH"], "orphaned", "0x" + "cc" * 32)
    review = ReorgReview.objects.create(deposit=deposit, user=trader, asset=chain_rules["ETH"].asset, amount=D("1.5"),
                                        reversed_amount=D(1), shortfall=D("0.5"))
    one, _ = admins
    page = one.get("/console/chain/").content.decode()
    assert "wtrader" in page
    assert "0.5" in page
    assert one.post(f"/console/chain/reviews/{review.pk}/resolve", {"reason": "settled by adjustment"}).status_code == 302
    review.refresh_from_db()
    assert review.resolved_at is not None
    assert review.resolution == "settled by adjustment"
    assert AuditEntry.objects.get(action="chain.reorg_review_resolve").reason == "settled by adjustment"
    again = one.post(f"/console/chain/reviews/{review.pk}/resolve", {"reason": "twice"})
    assert again.status_code == 409
