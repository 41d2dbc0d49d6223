"""Console writes about the chain: closing the review a deep reorganisation opened.

The watcher reverses the credit and freezes the account; an admin looks at what could not be
reversed (the shortfall), settles it with the user outside this step (an adjustment, which
needs a second admin), and records the outcome here. Unfreezing stays the users area's own
action, so that it is a decision of its own in the audit log.
"""
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from exchange.audit.services import audit_record
from exchange.chain.models import ReorgReview
from exchange.console.services.guards import check_admin, check_reason
from exchange.errors import ExchangeError


@transaction.atomic
def reorg_review_resolve(*, actor: AbstractBaseUser, ip: str | None, review_id: object, reason: str) -> ReorgReview:
    """Record how a reorg review was settled (``review_resolved`` 409 when it already was)."""
    check_admin(actor)
    why = check_reason(reason)
    review = ReorgReview.objects.select_for_update().filter(pk=str(review_id)).first() if str(review_id).isdigit() else None
    if review is None:
        raise ExchangeError("unknown_review", "no such reorg review", status=404)
    if review.resolved_at is not None:
        raise ExchangeError("review_resolved", f"review {review.pk} was resolved already", status=409)
    review.resolved_at = timezone.now()
    review.resolved_by = actor
    review.resolution = why[:255]
    review.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    audit_record(actor=actor, ip=ip, action="chain.reorg_review_resolve", object_type="chain.reorgreview",
                 object_id=review.pk, before={"resolved_at": None},
                 after={"user": review.user_id, "deposit": review.deposit_id, "shortfall": review.shortfall,
                        "resolved_at": review.resolved_at}, reason=why)
    return review
