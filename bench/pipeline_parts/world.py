"""The benchmark's own database and Redis db, wiped; its markets; its traders, signed up and funded
through the real services (``user_create``, ``deposit_credit``)."""
from __future__ import annotations

import secrets
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

from pipeline_parts.common import BASELINE_MARKET, ENTRY_MARKET, MAIN_MARKET, ROOT, Params, child_env, log

KEEP_TABLES = {"django_migrations", "django_content_type", "auth_permission"}
NOTIFY_CHANNEL = "bench_commit"

# Exact commit times (phases A and B): a statement-level trigger, in the benchmark's OWN
# database only, NOTIFYs the id of each transaction that marks commands applied (one matcher
# batch), delivered at its commit.
TRIGGER_SQL = f"""
CREATE OR REPLACE FUNCTION bench_notify_applied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM bench_new_rows WHERE applied_sequence IS NOT NULL) THEN
        PERFORM pg_notify('{NOTIFY_CHANNEL}', (txid_current() % 4294967296)::text);
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS bench_notify_applied ON trading_command;
CREATE TRIGGER bench_notify_applied AFTER UPDATE ON trading_command
    REFERENCING NEW TABLE AS bench_new_rows FOR EACH STATEMENT EXECUTE FUNCTION bench_notify_applied();
"""


def ensure_database(params: Params) -> None:
    import psycopg

    parts = urlsplit(params.database_url)
    db_name = parts.path.lstrip("/")
    admin_url = urlunsplit((parts.scheme.replace("postgres", "postgresql", 1) if parts.scheme == "postgres" else parts.scheme,
                            parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db_name}"')
            log(f"created database {db_name}")


def migrate(params: Params) -> None:
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=child_env(params),
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"migrate failed:\n{result.stdout}\n{result.stderr}")


def reset_state(params: Params) -> None:
    """Truncate every application table, install the commit-notify trigger, flush our Redis db."""
    import redis
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = sorted(t for (t,) in cursor.fetchall() if t not in KEEP_TABLES)
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        cursor.execute(TRIGGER_SQL)
    redis.Redis.from_url(params.redis_url).flushdb()


def create_markets() -> dict:
    from exchange.markets.selectors import market_get
    from exchange.markets.services import asset_get_or_create, market_create

    btc = asset_get_or_create(symbol="BTC", name="Bitcoin", decimals=8)
    eth = asset_get_or_create(symbol="ETH", name="Ether", decimals=8)
    usd = asset_get_or_create(symbol="USD", name="US dollar", decimals=8)
    market_create(base=btc, quote=usd, tick_size="0.01", lot_size="0.0001", min_notional="10", min_quantity="0.0001",
                  max_quantity="100", maker_fee="0.001", taker_fee="0.002")
    market_create(base=eth, quote=usd, tick_size="0.01", lot_size="0.001", min_notional="10", min_quantity="0.001",
                  max_quantity="1000", maker_fee="0.001", taker_fee="0.002")
    sol = asset_get_or_create(symbol="SOL", name="Solana", decimals=8)  # the baseline's twin of BTC-USD
    market_create(base=sol, quote=usd, tick_size="0.01", lot_size="0.0001", min_notional="10", min_quantity="0.0001",
                  max_quantity="100", maker_fee="0.001", taker_fee="0.002")
    return {symbol: market_get(symbol=symbol) for symbol in (MAIN_MARKET, ENTRY_MARKET, BASELINE_MARKET)}


@dataclass
class Trader:
    user: object  # the Django user: ``order_cancel`` takes it
    user_id: int


def create_traders(prefix: str, count: int, funds: dict) -> list[Trader]:
    """Sign up ``count`` users through ``user_create`` and credit ``funds`` ({asset: amount}) to
    each through ``deposit_credit``. Their passwords are hashed with a fast hasher: they never log
    in, and the production hasher would spend minutes on a few thousand sign-ups."""
    from django.db import transaction
    from django.test.utils import override_settings

    from exchange.accounts.services import user_create
    from exchange.ledger.services import deposit_credit

    traders = []
    # One transaction for them all (the services nest in it): one commit instead of seven per trader.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]), transaction.atomic():
        for i in range(count):
            user = user_create(username=f"{prefix}{i}", email=f"{prefix}{i}@bench.invalid",
                               password=secrets.token_urlsafe(18))
            for asset, amount in funds.items():
                deposit_credit(user=user, asset=asset, amount=Decimal(amount), reference=f"bench:{user.pk}:{asset.symbol}",
                               memo="bench funding")
            traders.append(Trader(user, user.pk))
    return traders
