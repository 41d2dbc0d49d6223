"""The second admin's decision on a pending money request: approve (post it now) or reject."""
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from exchange.audit.services import audit_record
from exchange.console.models import ApprovalKind, ApprovalRequest, ApprovalStatus
from exchange.console.services.funds import check_not_to_actor, ledger_deposit_reference, pending_withdrawal, withdrawal_go
from exchange.console.services.guards import check_admin, check_not_own_account, check_reason
from exchange.errors import ExchangeError
from exchange.ledger import limits as kyc
from exchange.ledger import services as ledger
from exchange.ledger.models import LedgerEntry


def _pending_approval(approval_id: int) -> ApprovalRequest:
    approval = ApprovalRequest.objects.select_for_update(of=("self",)).select_related("asset", "user").filter(
        pk=approval_id).first()
    if approval is None:
        raise ExchangeError("unknown_approval", "no such approval request", status=404)
    if approval.status != ApprovalStatus.PENDING:
        raise ExchangeError("approval_not_pending", f"request {approval.pk} is {approval.status}", status=409)
    return approval


@transaction.atomic
def approval_approve(*, actor: User, ip: str | None, approval_id: int, reason: str) -> ApprovalRequest:
    """The second admin approves: the deposit is credited, the adjustment posted or the
    withdrawal let go (to the signer on a chain, else recorded as paid out), now. The admin who
    asked can never approve (``four_eyes``), nor can the user the money goes to or comes from,
    nor an admin a withdrawal goes to (``own_account``), all 403."""
    check_admin(actor)
    why = check_reason(reason)
    approval = _pending_approval(approval_id)
    if approval.requested_by_id == actor.pk:
        raise ExchangeError("four_eyes", "another admin must approve this: you asked for it", status=403)
    check_not_own_account(actor, approval.user_id, "approve money movements of")
    entry: LedgerEntry | None
    if approval.kind == ApprovalKind.DEPOSIT:
        kyc.deposit_limit_check(user=approval.user, asset=approval.asset, amount=approval.amount)
        ledger_reference = ledger_deposit_reference(approval.asset, approval.reference)
        if LedgerEntry.objects.filter(idempotency_key=f"deposit:{ledger_reference}").exists():
            raise ExchangeError("duplicate_reference", f"reference {approval.reference!r} is already credited",
                                status=409)
        entry = ledger.deposit_credit(user=approval.user, asset=approval.asset, amount=approval.amount,
                                      reference=ledger_reference, memo=approval.reason[:255])
    elif approval.kind == ApprovalKind.ADJUSTMENT:
        entry = ledger.balance_adjust(user=approval.user, asset=approval.asset, amount=approval.amount,
                                      reason=f"{approval.reason} (approved: {why})")
    else:
        withdrawal_id = approval.withdrawal_id
        assert withdrawal_id is not None, "a withdrawal approval names its withdrawal"
        withdrawal = pending_withdrawal(withdrawal_id)
        check_not_to_actor(actor, withdrawal)
        withdrawal_go(withdrawal)
        entry = LedgerEntry.objects.filter(kind="withdrawal", reference=f"withdrawal:{approval.withdrawal_id}").first()
    approval.status = ApprovalStatus.APPROVED
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.decision_reason = why
    approval.ledger_entry = entry
    approval.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "ledger_entry"])
    after = {"status": ApprovalStatus.APPROVED, "ledger_entry": entry.pk if entry else None,
             "user": approval.user_id, "asset": approval.asset.symbol, "amount": approval.amount}
    if approval.kind == ApprovalKind.DEPOSIT:
        after["reference"] = approval.reference
    audit_record(actor=actor, ip=ip, action=f"funds.{approval.kind}_approve", object_type="console.approvalrequest",
                 object_id=approval.pk, before={"status": ApprovalStatus.PENDING, "requested_by": approval.requested_by_id},
                 after=after, reason=why)
    return approval


@transaction.atomic
def approval_reject(*, actor: User, ip: str | None, approval_id: int, reason: str) -> ApprovalRequest:
    """Turn a request down (the requester may withdraw their own). Nothing is posted; a
    withdrawal stays pending in the queue, to be rejected or asked again; a rejected deposit
    frees its reference for a corrected request."""
    check_admin(actor)
    why = check_reason(reason)
    approval = _pending_approval(approval_id)
    approval.status = ApprovalStatus.REJECTED
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.decision_reason = why
    approval.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit_record(actor=actor, ip=ip, action=f"funds.{approval.kind}_reject", object_type="console.approvalrequest",
                 object_id=approval.pk, before={"status": ApprovalStatus.PENDING},
                 after={"status": ApprovalStatus.REJECTED}, reason=why)
    return approval
