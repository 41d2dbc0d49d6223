"""Random ledger work from several users at once, in real concurrent transactions.

Each example runs one thread per user, each thread with its own PostgreSQL connection, doing a
random sequence of deposits, holds, releases, trade settlements (against other users, so the
threads contend for the same rows) and withdrawals. Whatever interleaving happens, every
operation is all-or-nothing, no thread deadlocks, and the ledger's invariants hold afterwards.
"""
import itertools
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange.errors import ExchangeError
from exchange.ledger import services
from exchange.ledger.models import LedgerEntry
from exchange.ledger.verification import verify_ledger

USERS = 4
names = itertools.count()

amounts = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(50), places=8)
operation = st.one_of(
    st.tuples(st.just("deposit"), st.sampled_from(["USD", "BTC"]), amounts),
    st.tuples(st.just("hold"), st.sampled_from(["USD", "BTC"]), amounts),
    st.tuples(st.just("release"), st.sampled_from(["USD", "BTC"]), amounts),
    st.tuples(st.just("trade"), st.integers(0, USERS - 1), amounts, st.integers(1, 200)),
    st.tuples(st.just("withdraw"), st.sampled_from(["USD", "BTC"]), amounts, st.booleans()),
)


def run_operations(user, others, assets, ops, applied: list, errors: list) -> None:
    """One user's thread: apply ``ops``; count the entries that should exist."""
    usd, btc = assets["USD"], assets["BTC"]
    my_holds: dict[str, list[str]] = {"USD": [], "BTC": []}
    try:
        for op in ops:
            try:
                kind = op[0]
                if kind == "deposit":
                    services.deposit_credit(user=user, asset=assets[op[1]], amount=op[2], reference=f"dep-{next(names)}")
                    applied.append(1)
                elif kind == "hold":
                    hold = f"hold:{next(names)}"
                    services.hold_place(user=user, asset=assets[op[1]], amount=op[2], hold=hold)
                    my_holds[op[1]].append(hold)
                    applied.append(1)
                elif kind == "release" and my_holds[op[1]]:
                    hold = my_holds[op[1]][-1]
                    left = services.hold_remaining(user=user, asset=assets[op[1]], hold=hold)
                    if left > 0:
                        services.hold_release(user=user, asset=assets[op[1]], amount=min(left, op[2]), hold=hold)
                        applied.append(1)
                elif kind == "trade":
                    seller = others[op[1] % len(others)]
                    quantity, price = op[2].quantize(Decimal("0.0001")) or Decimal("0.0001"), Decimal(op[3])
                    buy_hold, sell_hold = f"hold:{next(names)}", f"hold:{next(names)}"
                    services.hold_place(user=user, asset=usd, amount=quantity * price, hold=buy_hold)
                    applied.append(1)
                    services.hold_place(user=seller, asset=btc, amount=quantity, hold=sell_hold)
                    applied.append(1)
                    services.trade_settle(
                        buyer=user, seller=seller, base=btc, quote=usd, price=price, quantity=quantity,
                        buyer_fee_rate="0.002", seller_fee_rate="0.001", buyer_hold=buy_hold, seller_hold=sell_hold,
                        reference=f"trade:{next(names)}",
                    )
                    applied.append(1)
                elif kind == "withdraw":
                    withdrawal = services.withdrawal_request(user=user, asset=assets[op[1]], amount=op[2], address="addr")
                    applied.append(1)
                    if op[3]:
                        services.withdrawal_complete(withdrawal_id=withdrawal.pk)
                    else:
                        services.withdrawal_reject(withdrawal_id=withdrawal.pk)
                    applied.append(1)
            except ExchangeError as exc:
                # Refusals for lack of funds (or of KYC allowance) are expected; any other is a bug.
                if exc.code not in {"insufficient_funds", "insufficient_hold", "kyc_limit_exceeded"}:
                    raise
    except BaseException as exc:
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plans=st.lists(st.lists(operation, min_size=1, max_size=12), min_size=USERS, max_size=USERS))
def test_concurrent_random_ledger_work_keeps_every_invariant(assets, make_user, kyc_level, plans):
    users = [kyc_level(make_user(f"c{next(names)}", USD="1000", BTC="5"), 3) for _ in range(USERS)]
    entries_before = LedgerEntry.objects.count()
    applied: list = []
    errors: list = []
    threads = [
        threading.Thread(target=run_operations, args=(user, [u for u in users if u != user], assets, plan, applied, errors))
        for user, plan in zip(users, plans, strict=True)
    ]
    with override_settings(EXCHANGE_REFERENCE_PRICES={"BTC": "100"}):  # withdrawals are valued for KYC limits
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    assert not errors, errors
    assert LedgerEntry.objects.count() - entries_before == len(applied)
    assert [(name, problems) for name, problems in verify_ledger() if problems] == []
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT asset_id, SUM(amount) FROM ledger_posting GROUP BY asset_id")
        assert all(total == 0 for _, total in cursor.fetchall())
