"""The trader's pages: markets, trading, wallet, account (thin: read, call a service, render).

The live parts (book, tape, chart, orders, balances) are filled in by the ES modules in
static/web/ from /api/v1/ and the WebSockets; the pages here carry the server-rendered frame and
the market's rules as JSON (json_script: allowed by the CSP, it is data, not script).
"""
import csv
import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from exchange.accounts.http import AuthenticatedHttpRequest
from exchange.chain import selectors as chain_selectors
from exchange.chain import services as chain_services
from exchange.errors import ExchangeError
from exchange.infra.net import client_ip
from exchange.infra.qr import qr_svg_data_uri
from exchange.ledger import selectors as ledger_selectors
from exchange.ledger.limits import limits_summary
from exchange.ledger.services import faucet_credit
from exchange.markets.models import Asset
from exchange.markets.rules import asset_symbol_parse, market_symbol_parse
from exchange.markets.selectors import market_get
from exchange.web import selectors
from exchange.web.forms import FaucetForm, WithdrawalForm

LEDGER_PAGE = 50


def _remember_client(view):
    """Note the browser and address in the session, for the account page's session list."""
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if request.user.is_authenticated and "web_user_agent" not in request.session:
            request.session["web_user_agent"] = request.META.get("HTTP_USER_AGENT", "")[:200]
            request.session["web_ip"] = client_ip(request) or ""
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@_remember_client
def markets(request: HttpRequest) -> HttpResponse:
    rows = selectors.market_list_for_pages()
    return render(request, "web/markets.html", {"markets": rows})


@require_GET
def trade_default(request: HttpRequest) -> HttpResponse:
    """``/trade/``: the first market that trades, else the markets page."""
    market = selectors.market_list_for_pages().filter(status="trading").first() or selectors.market_list_for_pages().first()
    return redirect("web:trade", symbol=market.symbol) if market else redirect("web:markets")


@require_GET
@_remember_client
def trade(request: HttpRequest, symbol: str) -> HttpResponse:
    try:
        market = market_get(symbol=market_symbol_parse(symbol))
    except ExchangeError:
        raise Http404("no such market") from None
    if market.symbol != symbol:
        return redirect("web:trade", symbol=market.symbol)
    context = {
        "market": market,
        "rules": selectors.market_rules(market),
        "markets": selectors.market_list_for_pages(),
        "intervals": ["1m", "5m", "15m", "1h", "4h", "1d"],
    }
    return render(request, "web/trade.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@_remember_client
def wallet(request: AuthenticatedHttpRequest) -> HttpResponse:
    faucet_form = FaucetForm(prefix="faucet")
    withdrawal_form = WithdrawalForm(prefix="withdraw")
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "faucet" and settings.EXCHANGE_DEMO_MODE:
            faucet_form = FaucetForm(request.POST, prefix="faucet")
            if faucet_form.is_valid():
                try:
                    asset = Asset.objects.get(symbol=faucet_form.cleaned_data["asset"])
                    faucet_credit(user=request.user, asset=asset, amount=faucet_form.cleaned_data["amount"])
                except ExchangeError as exc:
                    faucet_form.add_error("amount", exc.message)
                else:
                    messages.success(request, f"Credited {faucet_form.cleaned_data['amount']} {asset.symbol}.")
                    return redirect("web:wallet")
        elif action == "withdraw":
            withdrawal_form = WithdrawalForm(request.POST, prefix="withdraw")
            if withdrawal_form.is_valid():
                from exchange.withdrawals.services import withdrawal_create

                data = withdrawal_form.cleaned_data
                try:
                    withdrawal_create(user=request.user, asset=data["asset"], amount=data["amount"],
                                      address=data["address"], otp_token=data["otp_token"], second_factor=True)
                except ExchangeError as exc:
                    field = {"invalid_otp": "otp_token", "otp_setup_required": "otp_token",
                             "invalid_address": "address"}.get(exc.code, "amount")
                    withdrawal_form.add_error(field, exc.message)
                else:
                    messages.success(request, "Withdrawal requested: it stays pending until an admin approves it.")
                    return redirect("web:wallet")
        status = 400
    page = min(max(1, _int(request.GET.get("page"), 1)), 10**9)
    postings = ledger_selectors.posting_list(user=request.user, asset=_asset_filter(request)).order_by("-id")
    rows = list(postings[(page - 1) * LEDGER_PAGE: page * LEDGER_PAGE + 1])
    context = {
        "balances": ledger_selectors.balance_list(user=request.user),
        "postings": rows[:LEDGER_PAGE], "page": page, "has_next": len(rows) > LEDGER_PAGE,
        "asset_filter": request.GET.get("asset", ""),
        "assets": Asset.objects.order_by("symbol"),
        "faucet_form": faucet_form, "withdrawal_form": withdrawal_form,
        "withdrawals": selectors.withdrawal_list(user=request.user)[:20],
        "kyc": limits_summary(user=request.user),
        "chain_networks": _chain_networks(request.user),
        "deposits": chain_selectors.deposit_list(user=request.user)[:20],
    }
    return render(request, "web/wallet.html", context, status=status)


def _chain_networks(user) -> list[dict]:
    """One entry per network with deposits: the user's address there, its QR code and the assets
    it takes (ETH and USDT share one address), or why deposits are unavailable."""
    networks: dict[str, dict] = {}
    for chain_asset in chain_selectors.chain_asset_list():
        network = networks.setdefault(chain_asset.network, {"network": chain_asset.get_network_display(), "assets": []})
        network["assets"].append(chain_asset)
        if "address" in network or "error" in network:
            continue
        try:
            _, address = chain_services.deposit_address_for_asset(user=user, symbol=chain_asset.symbol)
        except ExchangeError as exc:
            network["error"] = exc.message
        else:
            network["address"], network["qr"] = address.address, qr_svg_data_uri(address.address)
    return list(networks.values())


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):  # ValueError also for more than 4,300 digits
        return default


def _asset_filter(request: HttpRequest) -> str | None:
    """The ``?asset=`` filter of the wallet and its CSV: a listed asset's symbol, or None.

    Checked before any query: a NUL byte reached PostgreSQL from here, and inside the streamed
    CSV the failure came after the headers, so the download never ended."""
    value = request.GET.get("asset") or None
    if value is None:
        return None
    try:
        symbol = asset_symbol_parse(value)
    except ExchangeError:
        raise BadRequest("unknown asset") from None
    if not Asset.objects.filter(symbol=symbol).exists():
        raise BadRequest("unknown asset")
    return symbol


class _Echo:
    def write(self, value):
        return value


@login_required
@require_GET
def ledger_csv(request: AuthenticatedHttpRequest) -> StreamingHttpResponse:
    postings = ledger_selectors.posting_list(user=request.user, asset=_asset_filter(request)).order_by("id")
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(["id", "time", "asset", "bucket", "amount", "kind", "reference"])
        for p in postings.iterator(chunk_size=2000):
            yield writer.writerow([p.pk, p.entry.created_at.isoformat(), p.asset.symbol, p.bucket,
                                   format(p.amount.normalize(), "f"), p.entry.kind, p.entry.reference])

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="ledger.csv"'
    return response


@login_required
@require_GET
@_remember_client
def account(request: AuthenticatedHttpRequest) -> HttpResponse:
    from exchange.accounts.security import totp_device, withdrawals_locked_until
    from exchange.accounts.sessions import session_list, session_record

    if not request.user.web_sessions.filter(session_key=request.session.session_key).exists():
        session_record(user=request.user, request=request)  # its key changed (password change)
    context = {
        "profile": getattr(request.user, "profile", None),
        "has_2fa": totp_device(request.user) is not None,
        "withdrawals_locked_until": withdrawals_locked_until(request.user),
        "sessions": session_list(user=request.user),
        "current_session": request.session.session_key,
        "api_key_count": request.user.api_keys.filter(revoked_at__isnull=True).count()
        if hasattr(request.user, "api_keys") else 0,
    }
    return render(request, "web/account.html", context)


@login_required
@require_POST
def sessions_end_others(request: AuthenticatedHttpRequest) -> HttpResponse:
    from exchange.accounts.sessions import session_end_others

    ended = session_end_others(user=request.user, keep=request.session.session_key)
    messages.success(request, f"Signed out {ended} other session{'s' if ended != 1 else ''}.")
    return redirect("web:account")
