"""The light book state the detectors share."""

from decimal import Decimal

from surveillance.detectors import MarketState


def test_book_follows_orders_trades_amends_and_cancels(tape):
    tape.ladder("mm", 100, levels=3, size=10)
    state = MarketState()
    for event in tape.events:
        state.apply(event)
    book = state.book("BTC-USD")
    assert book.best_bid() == Decimal("99.9")
    assert book.best_ask() == Decimal("100.1")
    assert book.depth("sell", 2) == [(Decimal("100.1"), Decimal(10)), (Decimal("100.2"), Decimal(10))]

    big = tape.order("s", "sell", "100.2", "40")
    state.apply(tape.events[-1])
    record = state.order("BTC-USD", big)
    assert record.touch_levels == 1
    assert record.depth_share == 40 / 70
    assert book.visible("sell", 10) == Decimal(70)

    tape.take("t", 2, "100.1", "4")  # order 2 is mm's ask at 100.1
    for event in tape.events[-2:]:
        state.apply(event)
    assert book.asks[Decimal("100.1")] == Decimal(6)
    assert book.last_price == Decimal("100.1")

    tape.amend(big, "100.3", "30")
    tape.cancel(2)
    for event in tape.events[-2:]:
        state.apply(event)
    assert book.best_ask() == Decimal("100.2")
    assert book.asks[Decimal("100.3")] == Decimal(40)
    assert state.order("BTC-USD", big).amendments == 1
    assert not state.order("BTC-USD", 2).live
    assert state.live_quantity("BTC-USD", "s", "sell") == Decimal(30)


def test_owners_group_accounts(tape):
    tape.account("a1", "firm")
    tape.account("a2", "firm")
    state = MarketState()
    for event in tape.events:
        state.apply(event)
    assert state.owner_of("a1") == state.owner_of("a2") == "firm"
    assert state.owner_of("loner") == "loner"
    assert state.accounts_of("firm") == {"a1", "a2"}
