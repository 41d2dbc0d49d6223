"""The console's chain page: health, deposits and withdrawals with filters (approve and reject
from the list, four eyes as on the funds page), and the reviews deep reorgs opened."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from exchange.chain.models import DepositStatus
from exchange.console import chain_selectors, forms
from exchange.console.chain_health import chain_health
from exchange.console.permissions import READERS, WRITERS, console_role, is_console_admin
from exchange.console.services import chain as chain_services
from exchange.console.views import _act
from exchange.ledger.models import WithdrawalStatus
from exchange.markets.models import Asset

admin_only = console_role(*WRITERS)
readers = console_role(*READERS)


@readers
@require_GET
def chain(request: HttpRequest) -> HttpResponse:
    q = request.GET
    deposit_filter = {"asset": q.get("d_asset", "")[:16], "status": q.get("d_status", "")[:16],
                      "username": q.get("d_user", "")[:150]}
    withdrawal_filter = {"asset": q.get("w_asset", "")[:16], "status": q.get("w_status", "")[:16],
                         "username": q.get("w_user", "")[:150]}
    return render(request, "console/chain.html", {
        "can_write": is_console_admin(request.user), "section": "chain",
        "chain": chain_health(), "reviews": chain_selectors.reorg_reviews(),
        "deposits": chain_selectors.deposit_search(**deposit_filter), "deposit_filter": deposit_filter,
        "withdrawals": chain_selectors.withdrawal_search(**withdrawal_filter), "withdrawal_filter": withdrawal_filter,
        "deposit_statuses": DepositStatus.values, "withdrawal_statuses": WithdrawalStatus.values,
        "assets": Asset.objects.order_by("symbol").values_list("symbol", flat=True), "reason_form": forms.ReasonForm(),
    })


@admin_only
@require_POST
def reorg_review_resolve(request: HttpRequest, review_id: int) -> HttpResponse:
    return _act(request, forms.ReasonForm, lambda d, actor, ip: chain_services.reorg_review_resolve(
        actor=actor, ip=ip, review_id=review_id, reason=d["reason"]),
        back=reverse("console:chain"), done="Review #{result.pk} resolved (unfreeze the account on its page).")
