"""The console's pages: thin views that parse a form, call one service or selector, render.

Every write is a POST with CSRF, admin only, and goes through ``exchange.console.services`` (a module per area)
(which writes the audit entry); a refused action comes back as a message on the page it came
from, with the HTTP status of the refusal when the page is not redirected.
"""
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from exchange.audit.context import client_ip
from exchange.audit.selectors import audit_csv_rows, audit_search
from exchange.console import forms, selectors
from exchange.console.chain_health import chain_health
from exchange.console.health import venue_health
from exchange.console.models import ApprovalRequest
from exchange.console.permissions import KYC_SETTERS, READERS, WRITERS, can_set_kyc, console_role, is_console_admin
from exchange.console.services import approvals as approval_services
from exchange.console.services import fees as fee_services
from exchange.console.services import funds as fund_services
from exchange.console.services import markets as market_services
from exchange.console.services import users as user_services
from exchange.errors import ExchangeError
from exchange.markets.models import Asset, MarketStatus
from exchange.markets.selectors import market_get

admin_only = console_role(*WRITERS)
readers = console_role(*READERS)
kyc_setters = console_role(*KYC_SETTERS)


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    context = {"can_write": is_console_admin(request.user), "section": template.split("/")[-1].split(".")[0], **context}
    return render(request, f"console/{template}", context, status=status)


def _act(request: HttpRequest, form_class, action, *, back: str, done: str):
    """Validate ``form_class`` from the POST, run ``action(cleaned_data, actor, ip)``, flash
    ``done`` (formatted with the result) and redirect to ``back``; a refusal is answered with
    its own status (400, 403, 409...) and code on a page that links back, so that a script or a
    proxy log sees a refused action as refused, not as a redirect."""
    form = form_class(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items())
        messages.error(request, f"Not done: {errors}")
        return _render(request, "refused.html", {"back": back, "code": "invalid_form"}, status=400)
    try:
        result = action(form.cleaned_data, request.user, client_ip(request))
    except ExchangeError as exc:
        messages.error(request, f"Not done ({exc.code}): {exc.message}")
        return _render(request, "refused.html", {"back": back, "code": exc.code}, status=exc.status)
    messages.success(request, done.format(result=result))
    return redirect(back)


# ---------------------------------------------------------------------- dashboard

@readers
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return _render(request, "dashboard.html", {"overview": selectors.market_overview_text(), "health": venue_health(),
                                               "chain": chain_health()})


@readers
@require_GET
def health_json(request: HttpRequest) -> JsonResponse:
    """What the dashboard polls every 2 s: health, alerts and the market overview (its numbers
    as the first render shows them: at the market's precision)."""
    return JsonResponse({**venue_health(), "overview": selectors.market_overview_text()})


# ---------------------------------------------------------------------- markets

@readers
@require_GET
def market_list(request: HttpRequest) -> HttpResponse:
    return _render(request, "markets.html", {
        "overview": selectors.market_overview_text(), "asset_form": forms.AssetForm(), "market_form": forms.MarketForm(),
        "assets": Asset.objects.all(),
    })


@readers
@require_GET
def market_detail(request: HttpRequest, symbol: str) -> HttpResponse:
    try:
        market = market_get(symbol=symbol)
    except ExchangeError:
        raise Http404("no such market") from None
    initial = {f: getattr(market, f) for f in market_services.RULE_FIELDS}
    return _render(request, "market_detail.html", {
        "market": market, "rules_form": forms.RulesForm(initial=initial),
        "status_form": forms.StatusForm(initial={"status": market.status}), "statuses": MarketStatus.choices,
        "reason_form": forms.ReasonForm(),
        "overview": next((r for r in selectors.market_overview_text() if r["market"] == market.symbol), None),
    })


@admin_only
@require_POST
def asset_create(request: HttpRequest) -> HttpResponse:
    return _act(request, forms.AssetForm, lambda d, actor, ip: market_services.asset_list(
        actor=actor, ip=ip, symbol=d["symbol"], name=d["name"], decimals=d["decimals"], reason=d["reason"]),
        back=reverse("console:markets"), done="Asset {result.symbol} listed.")


@admin_only
@require_POST
def market_create(request: HttpRequest) -> HttpResponse:
    def act(d, actor, ip):
        rules = {f: d[f] for f in market_services.RULE_FIELDS if d.get(f)}
        return market_services.market_list(actor=actor, ip=ip, base=d["base"].symbol, quote=d["quote"].symbol,
                                           reason=d["reason"], **rules)

    return _act(request, forms.MarketForm, act, back=reverse("console:markets"),
                done="Market {result.symbol} listed. Start (or restart) a matcher for it.")


@admin_only
@require_POST
def market_rules(request: HttpRequest, symbol: str) -> HttpResponse:
    def act(d, actor, ip):
        changes = {f: d[f] for f in market_services.RULE_FIELDS if f in request.POST}
        return market_services.market_rules_update(actor=actor, ip=ip, market=symbol, reason=d["reason"], **changes)

    return _act(request, forms.RulesForm, act, back=reverse("console:market", args=[symbol]),
                done="Rules of {result.symbol} updated; they apply to new orders.")


@admin_only
@require_POST
def market_status(request: HttpRequest, symbol: str) -> HttpResponse:
    return _act(request, forms.StatusForm, lambda d, actor, ip: market_services.market_status_change(
        actor=actor, ip=ip, market=symbol, status=d["status"], reason=d["reason"]),
        back=reverse("console:market", args=[symbol]),
        done="Status change queued (command {result[0].pk}); it applies in sequence.")


@admin_only
@require_POST
def market_cancel_all(request: HttpRequest, symbol: str) -> HttpResponse:
    return _act(request, forms.ReasonForm, lambda d, actor, ip: market_services.market_orders_cancel_all(
        actor=actor, ip=ip, market=symbol, reason=d["reason"]),
        back=reverse("console:market", args=[symbol]), done="Cancel-all queued (command {result.pk}).")


# ---------------------------------------------------------------------- users

@readers
@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    return _render(request, "users.html", {"q": q, "users": selectors.user_search(q=q)})


def _user_or_404(user_id: int):
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise Http404("no such user")
    return user


@readers
@require_GET
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    detail = selectors.user_detail(user_id=user_id)
    if detail is None:
        raise Http404("no such user")
    return _render(request, "user_detail.html", {**detail, "reason_form": forms.ReasonForm(),
                                                 "can_set_kyc": can_set_kyc(request.user),
                                                 "kyc_form": forms.KycForm(initial={"level": detail["profile"].kyc_level})})


@admin_only
@require_POST
def user_freeze(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user_or_404(user_id)
    return _act(request, forms.ReasonForm, lambda d, actor, ip: user_services.user_freeze(
        actor=actor, ip=ip, user=user, reason=d["reason"]),
        back=reverse("console:user", args=[user_id]), done=f"{user.username} frozen; their orders are being cancelled.")


@admin_only
@require_POST
def user_unfreeze(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user_or_404(user_id)
    return _act(request, forms.ReasonForm, lambda d, actor, ip: user_services.user_unfreeze(
        actor=actor, ip=ip, user=user, reason=d["reason"]),
        back=reverse("console:user", args=[user_id]), done=f"{user.username} unfrozen.")


@kyc_setters
@require_POST
def user_kyc(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user_or_404(user_id)
    return _act(request, forms.KycForm, lambda d, actor, ip: user_services.user_kyc_set(
        actor=actor, ip=ip, user=user, level=d["level"], reason=d["reason"]),
        back=reverse("console:user", args=[user_id]), done="KYC level set to {result.kyc_level}.")


@admin_only
@require_POST
def api_key_revoke(request: HttpRequest, user_id: int, key_id: int) -> HttpResponse:
    return _act(request, forms.ReasonForm, lambda d, actor, ip: user_services.user_api_key_revoke(
        actor=actor, ip=ip, api_key_id=key_id, reason=d["reason"]),
        back=reverse("console:user", args=[user_id]), done="API key revoked.")


# ---------------------------------------------------------------------- funds

@admin_only
@require_GET
def funds(request: HttpRequest) -> HttpResponse:
    return _render(request, "funds.html", {
        "deposit_form": forms.DepositForm(), "adjust_form": forms.AdjustForm(), "reason_form": forms.ReasonForm(),
        "withdrawals": selectors.withdrawal_queue(), "pending": selectors.approvals_pending(),
        "recent": selectors.approvals_recent(),
        "thresholds": [(a.symbol, format(fund_services.four_eyes_threshold(a).normalize(), "f"))
                       for a in Asset.objects.order_by("symbol")],
    })


def _named_user(username: str):
    user = get_user_model().objects.filter(username=username.strip()).first()
    if user is None:
        raise ExchangeError("unknown_user", f"no user {username!r}", status=404)
    return user


@admin_only
@require_POST
def deposit(request: HttpRequest) -> HttpResponse:
    return _act(request, forms.DepositForm, lambda d, actor, ip: fund_services.deposit_credit(
        actor=actor, ip=ip, user=_named_user(d["username"]), asset=d["asset"], amount=d["amount"],
        reference=d["reference"], reason=d["reason"]), back=reverse("console:funds"),
        done="Deposit request #{result.pk} waits for a second admin: nothing is credited until then.")


@admin_only
@require_POST
def adjust(request: HttpRequest) -> HttpResponse:
    return _act(request, forms.AdjustForm, lambda d, actor, ip: fund_services.balance_adjust(
        actor=actor, ip=ip, user=_named_user(d["username"]), asset=d["asset"], amount=d["amount"],
        reason=d["reason"]), back=reverse("console:funds"),
        done="Adjustment request #{result.pk} waits for a second admin: nothing is posted until then.")


@admin_only
@require_POST
def withdrawal_approve(request: HttpRequest, withdrawal_id: int) -> HttpResponse:
    def act(d, actor, ip):
        result = fund_services.withdrawal_approve(actor=actor, ip=ip, withdrawal_id=withdrawal_id, reason=d["reason"])
        if isinstance(result, ApprovalRequest):
            return f"needs a second admin (request #{result.pk})"
        return "approved: the signer sends it" if result.network else "completed"

    return _act(request, forms.ReasonForm, act, back=reverse("console:funds"), done="Withdrawal {result}.")


@admin_only
@require_POST
def withdrawal_reject(request: HttpRequest, withdrawal_id: int) -> HttpResponse:
    return _act(request, forms.ReasonForm, lambda d, actor, ip: fund_services.withdrawal_reject(
        actor=actor, ip=ip, withdrawal_id=withdrawal_id, reason=d["reason"]),
        back=reverse("console:funds"), done="Withdrawal rejected; the funds are available again.")


@admin_only
@require_POST
def approval_approve(request: HttpRequest, approval_id: int) -> HttpResponse:
    return _act(request, forms.ReasonForm, lambda d, actor, ip: approval_services.approval_approve(
        actor=actor, ip=ip, approval_id=approval_id, reason=d["reason"]),
        back=reverse("console:funds"), done="Request #{result.pk} approved and applied.")


@admin_only
@require_POST
def approval_reject(request: HttpRequest, approval_id: int) -> HttpResponse:
    return _act(request, forms.ReasonForm, lambda d, actor, ip: approval_services.approval_reject(
        actor=actor, ip=ip, approval_id=approval_id, reason=d["reason"]),
        back=reverse("console:funds"), done="Request #{result.pk} rejected.")


# ---------------------------------------------------------------------- fees

@readers
@require_GET
def fees(request: HttpRequest) -> HttpResponse:
    return _render(request, "fees.html", {**selectors.fee_schedule(), "tier_form": forms.FeeTierForm(),
                                          "reason_form": forms.ReasonForm()})


@admin_only
@require_POST
def fee_tier_create(request: HttpRequest) -> HttpResponse:
    return _act(request, forms.FeeTierForm, lambda d, actor, ip: fee_services.fee_tier_create(
        actor=actor, ip=ip, quote=d["quote"], min_volume=d["min_volume"], maker_fee=d["maker_fee"],
        taker_fee=d["taker_fee"], reason=d["reason"]), back=reverse("console:fees"), done="Tier added.")


@admin_only
@require_POST
def fee_tier_delete(request: HttpRequest, tier_id: int) -> HttpResponse:
    return _act(request, forms.ReasonForm, lambda d, actor, ip: fee_services.fee_tier_delete(
        actor=actor, ip=ip, tier_id=tier_id, reason=d["reason"]), back=reverse("console:fees"), done="Tier deleted.")


# ---------------------------------------------------------------------- audit

def _audit_entries(request: HttpRequest):
    form = forms.AuditSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    return form, audit_search(**{k: v for k, v in filters.items() if v})


@readers
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    form, entries = _audit_entries(request)
    return _render(request, "audit.html", {"form": form, "entries": entries[:200], "query": request.GET.urlencode()})


@readers
@require_GET
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    _, entries = _audit_entries(request)
    response = StreamingHttpResponse(audit_csv_rows(entries.order_by("created_at", "id")), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response


