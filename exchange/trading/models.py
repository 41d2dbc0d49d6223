"""Orders, the commands that carry them to the matcher, fills, and the event journal.

PostgreSQL is the source of truth. An order is durable the moment ``order_place`` commits
(status ``pending``, its hold placed, its ``place`` command written); the Redis stream only
carries command ids to the matcher. The matcher marks each command applied in the same
transaction as its effects, so a command is applied exactly once whatever crashes.
"""
from django.conf import settings
from django.db import models

from exchange.amounts import DECIMAL_PLACES, MAX_DIGITS
from exchange.markets.models import Asset, Market


def _amount_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # durable, not yet applied by the matcher
    OPEN = "open", "Open"  # resting in the book (or a stop waiting), possibly partly filled
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"  # finished unfilled or partly filled; see cancel_reason
    REJECTED = "rejected", "Rejected"  # refused by the matcher (e.g. post-only would take, halted)


OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.OPEN)


class Order(models.Model):
    """A user's order. Its id is the engine's order id, and ``account`` in the engine is the
    user id, so self-trade prevention works per user."""

    # No single-column indexes on these: (user, status) and (market, status) below serve the
    # lookups, and every index is rewritten on each matcher status update of the order.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False)
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="orders", db_index=False)
    side = models.CharField(max_length=4, choices=[("buy", "Buy"), ("sell", "Sell")])
    order_type = models.CharField(max_length=12)
    time_in_force = models.CharField(max_length=3, default="gtc")
    post_only = models.BooleanField(default=False)
    stp = models.CharField(max_length=16, default="cancel_newest")
    price = _amount_field(null=True, blank=True)
    stop_price = _amount_field(null=True, blank=True)
    quantity = _amount_field(null=True, blank=True, help_text="Base quantity; empty for a buy by quote amount.")
    quote_amount = _amount_field(null=True, blank=True, help_text="Budget of a market buy by quote amount.")
    # The price the engine uses: the limit price, or the protection price of a market buy.
    engine_price = _amount_field(null=True, blank=True)
    open_quantity = _amount_field(null=True, blank=True)
    filled_quantity = _amount_field(default=0)
    filled_notional = _amount_field(default=0)
    fees_paid = _amount_field(default=0)
    hold_asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", db_index=False)
    hold_amount = _amount_field(help_text="Held when placed.")
    hold_remaining = _amount_field(help_text="Still held: released on cancel, consumed by fills.")
    status = models.CharField(max_length=10, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    cancel_reason = models.CharField(max_length=32, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    client_order_id = models.CharField(max_length=64, null=True, blank=True)
    # Market sequence at which the order last took its place in the queue (its time priority).
    priority = models.BigIntegerField(null=True, blank=True)
    is_waiting_stop = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Not a column: order_amend sets it on the order it returns (did the amend keep time priority?).
    priority_kept: bool | None = None

    class Meta:
        indexes = [
            models.Index(fields=["market", "status"], name="order_market_status_idx"),
            models.Index(fields=["user", "status"], name="order_user_status_idx"),
            # Order entry counts a user's open orders in a market (the open-order limit): only
            # those, whatever else the market or the user has open or has ever traded.
            models.Index(fields=["user", "market"], condition=models.Q(status__in=["pending", "open"]),
                         name="order_user_market_open_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=models.Q(status__in=["pending", "open"]) & models.Q(client_order_id__isnull=False),
                name="client_order_id_unique_among_open",
            ),
            models.CheckConstraint(condition=models.Q(hold_remaining__gte=0), name="order_hold_remaining_gte_0"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.market_id} {self.side} {self.order_type} {self.status}"

    @property
    def hold_reference(self) -> str:
        return f"order:{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CommandKind(models.TextChoices):
    PLACE = "place", "Place order"
    CANCEL = "cancel", "Cancel order"
    AMEND = "amend", "Amend order"
    SET_STATUS = "set_status", "Set market status"
    CANCEL_ALL = "cancel_all", "Cancel all orders of the market"
    CANCEL_USER = "cancel_user", "Cancel a user's orders (freeze)"
    MARKET_CLOSE = "market_close", "Mark the daily close (reference price)"


class Command(models.Model):
    """A durable command for one market's matcher: the outbox behind the Redis stream.

    ``applied_sequence`` is set in the matcher's batch transaction; a command with it set is
    never applied again, which makes replays after a crash or a Redis loss harmless.
    """

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="commands")
    kind = models.CharField(max_length=12, choices=CommandKind.choices)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="commands")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_sequence = models.BigIntegerField(null=True, blank=True)
    # The command's place in the market's order of application (1, 2, 3, ...): commands that
    # produce no event share an ``applied_sequence``, and the replay must not reorder them.
    applied_position = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            # The relay's question, "which commands of this market are unapplied and older than
            # N seconds?", as a range scan: unapplied commands that are not yet due (a backlog
            # the matcher is still reading) are not even visited.
            models.Index(
                fields=["market", "created_at"], condition=models.Q(applied_sequence__isnull=True),
                name="command_unapplied_age_idx",
            ),
            models.Index(fields=["market", "applied_position"], name="command_applied_position_idx"),
        ]

    def __str__(self) -> str:
        return f"command #{self.pk} {self.kind} {self.market_id}"


class Fill(models.Model):
    """One trade between two orders, at the maker's price, with both sides' fees.

    Written only by the matcher with COPY; the references are checked by ``verify_ledger``
    rather than by per-row foreign-key triggers (see ``ledger.Posting``).
    """

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="fills", db_constraint=False,
                               db_index=False)  # the (market, sequence) unique index serves it
    sequence = models.BigIntegerField()
    price = _amount_field()
    quantity = _amount_field()
    buy_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    sell_order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    aggressor = models.CharField(max_length=4)
    buyer_fee = _amount_field()
    seller_fee = _amount_field()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["market", "sequence"], name="fill_market_sequence_unique")]

    def __str__(self) -> str:
        return f"fill #{self.pk} {self.quantity} @ {self.price}"


class JournalEvent(models.Model):
    """The matcher's committed events, per market, in sequence, chained by hash.

    ``hash = sha256(prev_hash + canonical bytes of the event)``: rewriting any past event
    breaks every hash after it, which ``verify_journal`` detects.
    """

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="journal", db_constraint=False,
                               db_index=False)  # the (market, sequence) unique index serves it
    sequence = models.BigIntegerField()
    event_type = models.CharField(max_length=24)
    payload = models.JSONField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["market", "sequence"], name="journal_market_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.market_id}#{self.sequence} {self.event_type}"


class MatcherState(models.Model):
    """Where a market's matcher is: its last sequence, stream position and heartbeat."""

    market = models.OneToOneField(Market, on_delete=models.CASCADE, primary_key=True, related_name="matcher_state")
    last_sequence = models.BigIntegerField(default=0)
    applied_commands = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    last_stream_id = models.CharField(max_length=32, blank=True)
    owner = models.CharField(max_length=128, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.market_id} at {self.last_sequence}"


class FeeTier(models.Model):
    """A volume tier for the markets quoted in ``quote``: a user whose last-30-day traded
    notional in those markets is at least ``min_volume`` pays these rates, where they are
    lower than the market's own (a tier never raises a fee). Read by order entry
    (``trading.fees``); edited in the console."""

    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="fee_tiers")
    min_volume = _amount_field(help_text="30-day traded notional, in the quote asset.")
    maker_fee = models.DecimalField(max_digits=9, decimal_places=8)
    taker_fee = models.DecimalField(max_digits=9, decimal_places=8)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "console_feetier"  # the console's model until issue 19; the table kept its name
        ordering = ["quote__symbol", "min_volume"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "min_volume"], name="fee_tier_unique_threshold"),
            models.CheckConstraint(condition=models.Q(min_volume__gte=0), name="fee_tier_min_volume_gte_0"),
            models.CheckConstraint(condition=models.Q(maker_fee__gte=0) & models.Q(taker_fee__gte=0),
                                   name="fee_tier_fees_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quote} >= {self.min_volume}: {self.maker_fee}/{self.taker_fee}"
