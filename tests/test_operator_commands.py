"""The operator commands of DESIGN 6.4 that the foundation provides."""
import json
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from exchange.accounts.crypto import decrypt_secret
from exchange.accounts.models import ApiKey
from exchange.ledger.models import Balance, LedgerEntry, Posting
from exchange.markets.models import Market

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_market_and_deposit():
    run("create_market", "SOL-USD", "--base", "SOL", "--quote", "USD", "--tick", "0.001", "--lot", "0.01", "--min-notional", "5")
    market = Market.objects.get(symbol="SOL-USD")
    assert (market.tick_size, market.lot_size, market.min_notional) == (Decimal("0.001"), Decimal("0.01"), Decimal(5))
    run("create_api_key", "sam", "--create-user")
    run("deposit", "sam", "SOL", "1.5", "--reference", "tx-1")
    run("deposit", "sam", "SOL", "1.5", "--reference", "tx-1")
    assert Balance.objects.get(account__user__username="sam", asset__symbol="SOL").available == Decimal("1.5")


@pytest.mark.parametrize("amount", ["-1", "0", "NaN", "1e99", "0.000000001"])
def test_deposit_refuses_bad_amounts(assets, make_user, amount):
    make_user("sue")
    with pytest.raises(CommandError):
        run("deposit", "sue", "BTC", amount)
    assert not LedgerEntry.objects.filter(kind="deposit").exists()


def test_create_api_key_prints_a_secret_that_is_stored_encrypted():
    data = json.loads(run("create_api_key", "bot", "--create-user", "--scopes", "read"))
    key = ApiKey.objects.get(key=data["key"])
    assert key.scopes == ["read"]
    assert data["secret"] not in key.secret_encrypted
    assert decrypt_secret(key.secret_encrypted) == data["secret"]


def test_seed_demo_is_idempotent(ledger_clean):
    run("seed_demo")
    counts = (Market.objects.count(), get_user_model().objects.count(), Posting.objects.count())
    run("seed_demo")
    assert (Market.objects.count(), get_user_model().objects.count(), Posting.objects.count()) == counts
    assert set(Market.objects.values_list("symbol", flat=True)) == {"BTC-USD", "ETH-USD", "ETH-BTC"}
    ledger_clean()


def test_verify_ledger_exits_non_zero_with_a_report_on_a_breach(make_user, assets, transactional_db, settings):
    """Run the real command in a subprocess against the test database after tampering with a balance."""
    from django.db import connection

    user = make_user("vic", USD="10")
    env_db = connection.settings_dict
    url = f"postgres://{env_db['USER']}@{env_db['HOST'] or '127.0.0.1'}:{env_db['PORT'] or 5432}/{env_db['NAME']}"
    command = [sys.executable, "manage.py", "verify_ledger"]
    clean = subprocess.run(command, cwd=ROOT, env={**_env(), "DATABASE_URL": url}, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "ledger clean" in clean.stdout
    Balance.objects.filter(account__user=user).update(available=Decimal("11"))
    broken = subprocess.run(command, cwd=ROOT, env={**_env(), "DATABASE_URL": url}, capture_output=True, text=True)
    assert broken.returncode == 1
    assert "balances equal their postings" in broken.stdout
    assert "available 11" in broken.stdout


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
