"""What surveillance keeps: alerts and their review, cases, parameters, beneficial owners, and
the real-time consumer's position in each market's journal.

Review steps are ``ReviewEvent`` rows: append-only (``save`` refuses updates, ``delete`` raises,
and a PostgreSQL trigger from migration 0002 refuses UPDATE and DELETE from anywhere). Every step
is also written to the venue's audit log (``exchange.audit``).
"""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from exchange.audit.models import AppendOnlyError
from surveillance.detectors import TYPOLOGIES

TYPOLOGY_CHOICES = [(name, name.replace("_", " ")) for name in TYPOLOGIES]


class AlertStatus(models.TextChoices):
    NEW = "new", "New"
    IN_REVIEW = "in_review", "In review"
    ESCALATED = "escalated", "Escalated"
    CLOSED = "closed", "Closed"


class Disposition(models.TextChoices):
    TRUE_POSITIVE = "true_positive", "True positive"
    FALSE_POSITIVE = "false_positive", "False positive"
    NO_ACTION = "no_action", "No action"


class AlertSource(models.TextChoices):
    REALTIME = "realtime", "Real time"
    BACKTEST = "backtest", "Back-test (imported)"


class Case(models.Model):
    """Alerts grouped for one investigation, with its own decision."""

    title = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=[("open", "Open"), ("closed", "Closed")], default="open")
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="surveillance_cases")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Case {self.pk}: {self.title}"


class Alert(models.Model):
    """One suspected episode (the DESIGN 6.5 alert line) and where its review stands.

    ``fingerprint`` (typology, market, accounts, start) is unique: the consumer can raise the
    same episode again after a restart and it is stored once.
    """

    fingerprint = models.CharField(max_length=64, unique=True)
    source = models.CharField(max_length=12, choices=AlertSource.choices, default=AlertSource.REALTIME)
    typology = models.CharField(max_length=24, choices=TYPOLOGY_CHOICES, db_index=True)
    market = models.CharField(max_length=32, db_index=True)
    accounts = models.JSONField(default=list)
    account_keys = ArrayField(models.CharField(max_length=64), default=list)
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    score = models.FloatField(db_index=True)
    evidence = models.JSONField(default=dict)
    reason = models.TextField()
    detected_sequence = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.NEW, db_index=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="surveillance_alerts")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True, db_index=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=0) & models.Q(score__lte=1), name="surv_alert_score_0_1"),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | ~models.Q(disposition=""), name="surv_alert_closed_has_disposition"),
        ]

    def __str__(self) -> str:
        return f"Alert {self.pk} {self.typology} {self.market}"

    def as_line(self) -> dict:
        """The DESIGN 6.5 alert line."""
        return {
            "typology": self.typology, "market": self.market, "accounts": self.accounts,
            "start": self.start.isoformat(), "end": self.end.isoformat(), "score": self.score,
            "evidence": self.evidence, "reason": self.reason,
        }


class ReviewQuerySet(models.QuerySet):
    def update(self, *args, **kwargs):
        raise AppendOnlyError("the review history is append-only")

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the review history is append-only")

    _raw_delete = delete
    _update = update
    bulk_update = update


class ReviewEvent(models.Model):
    """One step of a review (assign, comment, escalate, add to case, close), never changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.PROTECT, related_name="history")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="history")
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    comment = models.TextField(blank=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.actor_username or 'system'} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("the review history is append-only: entries cannot be changed")
        kwargs.pop("force_update", None)
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the review history is append-only: entries cannot be deleted")


class ParameterVersion(models.Model):
    """One detector's parameter overrides from ``created_at`` on; the latest row is current.

    Rows are only added, so the list is the history (who changed what, when, why).
    """

    typology = models.CharField(max_length=24, choices=TYPOLOGY_CHOICES, db_index=True)
    values = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.typology} v{self.pk}"


class BeneficialOwner(models.Model):
    """Accounts (users) that compliance knows share one beneficial owner (DESIGN 6.5 ``owner``)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="beneficial_owner")
    owner = models.CharField(max_length=100, db_index=True)
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "user_id"]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.owner}"


class ConsumerPosition(models.Model):
    """The last journal sequence of a market that the real-time consumer has processed."""

    market = models.CharField(max_length=32, primary_key=True)
    last_sequence = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.market}@{self.last_sequence}"


class BacktestRun(models.Model):
    """A back-test run from the review UI: what was replayed, with which parameters, what it found."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=300)
    params = models.JSONField(default=dict)
    event_count = models.IntegerField(default=0)
    alerts = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Back-test {self.pk}: {self.source}"


class BookSnapshot(models.Model):
    """A market's replay state right after journal event ``sequence`` (``surveillance/snapshots.py``).

    The alert page's book replay starts from the newest snapshot at or before the sequence it
    shows and applies only the events after it, instead of the whole journal from its first
    event. Derived from the journal, so a lost or deleted snapshot costs time, never data.
    """

    market = models.CharField(max_length=32)
    sequence = models.BigIntegerField()
    event_at = models.DateTimeField()  # created_at of the journal event at ``sequence``
    state = models.JSONField()  # amounts as decimal strings, never floats
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["market", "sequence"], name="book_snapshot_market_sequence")]

    def __str__(self) -> str:
        return f"{self.market}@{self.sequence}"
