"""The withdrawal allow-list page (linked from the security page): turn it on (no code needed:
it only restricts) or off (a current two-factor code), add an address (a current code; usable
after ``EXCHANGE_ALLOW_LIST_DELAY_HOURS``) or remove one. The rules live in
``exchange.withdrawals.services``."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from exchange.accounts.http import AuthenticatedHttpRequest
from exchange.errors import ExchangeError
from exchange.markets.models import Asset
from exchange.withdrawals import services
from exchange.withdrawals.models import AllowedAddress, AllowListSetting


@login_required
@require_http_methods(["GET", "POST"])
def allow_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        post = request.POST
        try:
            action = post.get("action")
            if action == "on":
                services.allow_list_set(user=request.user, enabled=True)
            elif action == "off":
                services.allow_list_set(user=request.user, enabled=False, otp_token=post.get("otp_token"))
            elif action == "add":
                services.allowed_address_add(user=request.user, asset=post.get("asset"), address=post.get("address"),
                                             label=post.get("label", ""), otp_token=post.get("otp_token"))
            elif action == "remove":
                services.allowed_address_remove(user=request.user, entry_id=post.get("entry_id"))
            else:
                raise ExchangeError("invalid_action", "unknown action")
        except ExchangeError as exc:
            messages.error(request, exc.message)
            status = exc.status
        else:
            messages.success(request, "Saved.")
            return redirect("web:allow_list")
    enabled = AllowListSetting.objects.filter(user=request.user, enabled=True).exists()
    return render(request, "web/allow_list.html", {
        "enabled": enabled, "entries": AllowedAddress.objects.filter(user=request.user).order_by("-id"),
        "assets": Asset.objects.order_by("symbol").values_list("symbol", flat=True),
    }, status=status)
